"""A job's page: its DAG, its instances, their logs, and the buttons that change it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Request, expect
from tencentcloud.batch.v20170312 import batch_client
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from conftest import call, submit, task, wait_for, wait_job
from console.helpers import cell_colour, gate_command, instance_cell, sign_in

SUCCEED_GREEN = "#27ae60"  # console.css, --state-SUCCEED
PENDING_GREY = "#cbd2d9"  # --state-PENDING


def diamond(sdk: batch_client.BatchClient) -> str:
    """A → (B, C) → D, A with three instances that print to stdout and stderr."""
    deps = [("A", "B"), ("A", "C"), ("B", "D"), ("C", "D")]
    return submit(
        sdk,
        task(
            "A",
            'echo "hello from $BATCH_TASK_INSTANCE_INDEX"; echo "note $BATCH_TASK_INSTANCE_INDEX" >&2',
            TaskInstanceNum=3,
        ),
        task("B", "true"),
        task("C", "true"),
        task("D", "echo '<b>done</b>' >&2; exit 3"),
        JobName="diamond",
        Dependences=[{"StartTask": a, "EndTask": b} for a, b in deps],
    )


def box_x(page: Page, name: str) -> float:
    return float(page.locator(f'svg.dag g.box[data-task="{name}"] rect').get_attribute("x") or -1)


def test_the_dag_is_drawn_in_layers_and_coloured_by_state(page: Page, sdk: batch_client.BatchClient) -> None:
    job_id = diamond(sdk)
    wait_job(sdk, job_id)
    sign_in(page, path=f"/jobs/{job_id}")
    expect(page.locator("svg.dag g.box")).to_have_count(4)
    expect(page.locator("svg.dag path.edge")).to_have_count(4)
    for name in "ABC":
        expect(page.locator(f'svg.dag g.box[data-task="{name}"]')).to_have_class("box state-SUCCEED")
    expect(page.locator('svg.dag g.box[data-task="D"]')).to_have_class("box state-FAILED")
    assert box_x(page, "A") < box_x(page, "B") == box_x(page, "C") < box_x(page, "D")
    canvas, position = instance_cell(page, "A", 2)
    expect(canvas).to_have_attribute("data-loaded", "true")
    expect(canvas).to_have_attribute("data-count", "3")
    assert cell_colour(canvas, position) == SUCCEED_GREEN
    expect(page.locator('section.task[data-task="A"] .counts')).to_have_text("3 SUCCEED")


def test_a_waiting_task_says_what_holds_it(page: Page, sdk: batch_client.BatchClient, tmp_path: Path) -> None:
    gate = tmp_path / "first-done"
    job_id = submit(
        sdk,
        task("first", gate_command(gate)),
        task("second", "true"),
        JobName="waits",
        Dependences=[{"StartTask": "first", "EndTask": "second"}],
    )
    sign_in(page, path=f"/jobs/{job_id}")
    reason = page.locator('section.task[data-task="second"] p.reason')
    expect(reason).to_contain_text('waiting for task "first" to finish')
    gate.touch()
    wait_job(sdk, job_id)
    expect(reason).to_be_hidden()


def test_an_instance_opens_with_its_logs_and_reason(page: Page, sdk: batch_client.BatchClient) -> None:
    job_id = diamond(sdk)
    wait_job(sdk, job_id)
    sign_in(page, path=f"/jobs/{job_id}")
    canvas, position = instance_cell(page, "A", 1)
    expect(canvas).to_have_attribute("data-loaded", "true")
    canvas.click(position=position)
    dialog = page.locator('dialog.instance[data-index="1"]')
    expect(dialog.locator("section.stdout pre")).to_have_text("hello from 1\n")
    expect(dialog.locator("section.stderr pre")).to_have_text("note 1\n")
    expect(dialog.locator("h2")).to_have_text("A · instance 1")
    dialog.locator("button.close").click()
    expect(dialog).to_have_count(0)

    failed = call(sdk, "DescribeTask", {"JobId": job_id, "TaskName": "D"}).TaskInstanceSet[0]
    page.locator('section.task[data-task="D"]').scroll_into_view_if_needed()
    canvas, position = instance_cell(page, "D", 0)
    expect(canvas).to_have_attribute("data-loaded", "true")
    canvas.click(position=position)
    dialog = page.locator('dialog.instance[data-index="0"]')
    expect(dialog.locator("section.stderr pre")).to_have_text("<b>done</b>\n")
    expect(dialog.locator("dl.facts")).to_contain_text(failed.StateReason)
    expect(dialog.locator("dl.facts")).to_contain_text("Exit code3")
    assert dialog.locator("section.stderr b").count() == 0


def test_terminate_acts_only_once_confirmed(
    page: Page, sdk: batch_client.BatchClient, tmp_path: Path
) -> None:
    job_id = submit(sdk, task("wait", gate_command(tmp_path / "never")), JobName="to-terminate")
    sign_in(page, path=f"/jobs/{job_id}")
    expect(page.locator('svg.dag g.box[data-task="wait"]')).to_have_class("box state-RUNNING")
    expect(page.locator(".job-header")).not_to_contain_text("null")  # no StateReason yet: nothing shown
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.headers.get("x-tc-action", "")))
    page.click("button.TerminateJob")
    dialog = page.locator("dialog.confirm")
    expect(dialog).to_contain_text(f"Terminate job {job_id}?")
    dialog.locator("button.cancel").click()
    expect(dialog).to_have_count(0)
    page.wait_for_timeout(1000)
    assert "TerminateJob" not in sent
    assert call(sdk, "DescribeJob", {"JobId": job_id}).JobState == "RUNNING"

    page.click("button.TerminateJob")
    page.locator("dialog.confirm button.danger").click()
    expect(page.locator("#notice")).to_have_text("Termination requested.")
    expect(page.locator(".job-header h1 .badge")).to_have_text("FAILED")
    assert wait_job(sdk, job_id).JobState == "FAILED"


def test_an_unfinished_instance_is_terminated_from_its_dialog_once_confirmed(
    page: Page, sdk: batch_client.BatchClient, tmp_path: Path
) -> None:
    """Instance 1 is terminated; instance 0 goes on, and a finished instance offers no Terminate."""
    gate = tmp_path / "gate"
    job_id = submit(sdk, task("wait", gate_command(gate), TaskInstanceNum=2), JobName="one-of-two")
    sign_in(page, path=f"/jobs/{job_id}")
    expect(page.locator('svg.dag g.box[data-task="wait"]')).to_have_class("box state-RUNNING")
    wait_for(lambda: {i.TaskInstanceState for i in instances(sdk, job_id, "wait")} == {"RUNNING"})
    canvas, position = instance_cell(page, "wait", 1)
    canvas.click(position=position)
    dialog = page.locator('dialog.instance[data-index="1"]')
    dialog.locator("button.TerminateTaskInstance").click()
    confirm = page.locator("dialog.confirm")
    expect(confirm).to_contain_text("Terminate instance 1 of wait?")
    confirm.locator("button.cancel").click()
    expect(confirm).to_have_count(0)
    assert [i.TaskInstanceState for i in instances(sdk, job_id, "wait")] == ["RUNNING", "RUNNING"]

    dialog.locator("button.TerminateTaskInstance").click()
    page.locator("dialog.confirm button.danger").click()
    expect(dialog.locator("dl.facts")).to_contain_text("FAILED")
    expect(dialog.locator("button.TerminateTaskInstance")).to_have_count(0)
    assert [i.TaskInstanceState for i in instances(sdk, job_id, "wait")] == ["RUNNING", "FAILED"]
    gate.touch()
    assert wait_job(sdk, job_id).JobState == "FAILED"  # one of its instances failed
    assert [i.TaskInstanceState for i in instances(sdk, job_id, "wait")] == ["SUCCEED", "FAILED"]


def instances(sdk: batch_client.BatchClient, job_id: str, task_name: str) -> list[Any]:
    return list(call(sdk, "DescribeTask", {"JobId": job_id, "TaskName": task_name}).TaskInstanceSet)


def test_delete_acts_once_confirmed_and_an_api_refusal_is_shown(
    page: Page, sdk: batch_client.BatchClient, tmp_path: Path
) -> None:
    running = submit(sdk, task("wait", gate_command(tmp_path / "never")), JobName="still-running")
    sign_in(page, path=f"/jobs/{running}")
    expect(page.locator(".job-header h1 .badge")).to_have_text("RUNNING")
    page.click("button.DeleteJob")
    page.locator("dialog.confirm button.danger").click()
    expect(page.locator('#errors p[data-source="DeleteJob"]')).to_contain_text("ResourceInUse.Job")
    call(sdk, "TerminateJob", {"JobId": running})
    wait_job(sdk, running)

    finished = submit(sdk, task("ok", "true"), JobName="to-delete")
    wait_job(sdk, finished)
    page.goto(f"/console/#/jobs/{finished}")
    expect(page.locator(".job-header h1 .badge")).to_have_text("SUCCEED")
    page.click("button.DeleteJob")
    page.locator("dialog.confirm button.danger").click()
    expect(page).to_have_url(f"{page.context.pages[0].url.split('#')[0]}#/jobs")
    with pytest.raises(TencentCloudSDKException, match="ResourceNotFound"):
        call(sdk, "DescribeJob", {"JobId": finished})


def test_retry_reruns_a_failed_job(page: Page, sdk: batch_client.BatchClient, tmp_path: Path) -> None:
    flag = tmp_path / "second-time"
    job_id = submit(sdk, task("flaky", f"[ -e {flag} ] || {{ touch {flag}; exit 1; }}"), JobName="retry-me")
    assert wait_job(sdk, job_id).JobState == "FAILED"
    sign_in(page, path=f"/jobs/{job_id}")
    page.click("button.RetryJobs")
    page.locator("dialog.confirm button.danger").click()
    expect(page.locator(".job-header h1 .badge")).to_have_text("SUCCEED")


def test_a_finished_job_is_asked_for_seldom(page: Page, sdk: batch_client.BatchClient) -> None:
    """Only a retry changes a finished job: its page asks for it once, not every few seconds."""
    job_id = submit(sdk, task("t", "true"), JobName="finished")
    wait_job(sdk, job_id)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.headers.get("x-tc-action", "")))
    sign_in(page, path=f"/jobs/{job_id}")
    expect(page.locator(".job-header h1 .badge")).to_have_text("SUCCEED")
    page.wait_for_timeout(6_000)  # more than two of a running job's polls
    assert asked.count("DescribeJob") == 1, asked


def test_a_large_task_fetches_its_instance_pages_as_they_come_into_view(
    page: Page, sdk: batch_client.BatchClient, tmp_path: Path
) -> None:
    """100,000 instances waiting behind a gate: the page fetches the pages shown, not all 100."""
    job_id = submit(
        sdk,
        task("gate", gate_command(tmp_path / "never")),
        task("many", "true", TaskInstanceNum=100_000),
        JobName="large",
        Dependences=[{"StartTask": "gate", "EndTask": "many"}],
    )
    offsets: list[int] = []

    def note(request: Request) -> None:
        if request.headers.get("x-tc-action") == "DescribeTask" and request.post_data:
            body = json.loads(request.post_data)
            if body["TaskName"] == "many":
                offsets.append(body["Offset"])

    page.on("request", note)
    try:
        sign_in(page, path=f"/jobs/{job_id}")
        page.locator('section.task[data-task="many"]').scroll_into_view_if_needed()
        expect(page.locator('section.task[data-task="many"] canvas.instances')).to_have_count(100)
        first, position = instance_cell(page, "many", 0)
        expect(first).to_have_attribute("data-loaded", "true")
        assert cell_colour(first, position) == PENDING_GREY
        assert 0 < len(set(offsets)) < 30, sorted(set(offsets))
        assert 99_000 not in offsets
        last, position = instance_cell(page, "many", 99_999)
        last.scroll_into_view_if_needed()
        expect(last).to_have_attribute("data-loaded", "true")
        assert 99_000 in offsets
        last.click(position=position)
        expect(page.locator('dialog.instance[data-index="99999"] dl.facts')).to_contain_text("PENDING")
    finally:
        call(sdk, "TerminateJob", {"JobId": job_id})
    wait_for(lambda: call(sdk, "DescribeJob", {"JobId": job_id}).JobState == "FAILED", timeout=60)
