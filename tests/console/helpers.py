"""What the console tests do often: sign in through the form, find what a user sees."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, Position, expect

from conftest import SECRET_ID, SECRET_KEY


def sign_in(page: Page, secret_id: str = SECRET_ID, secret_key: str = SECRET_KEY, path: str = "") -> None:
    """Opens the console (at ``#path`` when given) and signs in through the form."""
    page.goto(f"/console/{'#' + path if path else ''}")
    fill_sign_in(page, secret_id, secret_key)
    expect(page.locator("header.top")).to_be_visible()


def fill_sign_in(page: Page, secret_id: str, secret_key: str) -> None:
    page.fill("#secret-id", secret_id)
    page.fill("#secret-key", secret_key)
    page.click("form.sign-in button[type=submit]")


def gate_command(gate: Path, then: str = "echo released") -> str:
    """A command that runs until the test creates ``gate``: a job the test moves on when it chooses."""
    return f"while [ ! -e {gate} ]; do sleep 0.1; done; {then}"


def job_row(page: Page, job_id: str) -> Locator:
    return page.locator(f'table.jobs tr[data-job-id="{job_id}"]')


def instance_cell(page: Page, task_name: str, index: int) -> tuple[Locator, Position]:
    """The canvas holding an instance of a task and the position of its cell in it, as the page
    lays cells out (its ``data-*`` attributes say how)."""
    page_number = index // 1000
    canvas = page.locator(f'section.task[data-task="{task_name}"] canvas[data-page="{page_number}"]')
    columns = int(canvas.get_attribute("data-columns") or 1)
    pitch = float(canvas.get_attribute("data-pitch") or 1)
    offset = index - page_number * 1000
    return canvas, {"x": (offset % columns + 0.4) * pitch, "y": (offset // columns + 0.4) * pitch}


def cell_colour(canvas: Locator, position: Position) -> str:
    """The colour drawn at a position of a canvas, as ``#rrggbb``."""
    return str(
        canvas.evaluate(
            """(c, p) => {
                const scale = c.width / c.clientWidth;
                const [r, g, b] = c.getContext("2d").getImageData(p.x * scale, p.y * scale, 1, 1).data;
                return "#" + [r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("");
            }""",
            position,
        )
    )
