"""Fixtures that drive the web console in Debian's headless Chromium through Playwright.

Playwright may not download its own browsers here, so the tests launch /usr/bin/chromium, which
`make test` installs (scripts/install-system-deps). Without it they fail, never skip. Each test gets a
fresh browser context (so a fresh session storage) and leaves a screenshot in .artifacts/console/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

try:
    from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
except ImportError as exc:  # pragma: no cover - what a half-installed checkout sees
    raise ImportError(
        f"{exc}. The console tests need Playwright: run `make test`, which installs it."
    ) from exc

from conftest import Server, running

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling out, which a closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "console"
WAIT_MS = 20_000  # what a live view may take to follow the server: a few polls
expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: run `make test`, which installs it "
            "(scripts/install-system-deps).",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="package")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for every console test: starting one takes seconds, and the tests find their own
    jobs and environments by id."""
    yield from running(Server(tmp_path_factory.mktemp("console") / "data"))


@pytest.fixture
def page(browser: Browser, srv: Server, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page of a fresh context on the module's server. Afterwards: a screenshot, and the test fails
    if the page threw or the browser refused anything under the content security policy."""
    context = browser.new_context(base_url=srv.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: _note_refusal(message, problems))
    try:
        yield page
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"{_artifact_name(request.node.name)}.png", full_page=True)
    finally:
        context.close()
    assert not problems, problems


def _note_refusal(message: ConsoleMessage, problems: list[str]) -> None:
    """Chromium reports what the policy blocked (and failed loads) as console errors."""
    if message.type == "error":
        problems.append(f"console error: {message.text}")


def _artifact_name(test_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
