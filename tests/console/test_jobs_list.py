"""The jobs list: live states, filters, links, and job names shown as the text they are."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect
from tencentcloud.batch.v20170312 import batch_client

from conftest import call, submit, task, wait_for
from console.helpers import gate_command, job_row, sign_in


def test_the_list_follows_a_job_from_running_to_succeeded(
    page: Page, sdk: batch_client.BatchClient, tmp_path: Path
) -> None:
    gate = tmp_path / "go"
    job_id = submit(sdk, task("wait", gate_command(gate)), JobName="live-states")
    sign_in(page)
    row = job_row(page, job_id)
    expect(row.locator(".badge")).to_have_text("RUNNING")
    expect(row).to_contain_text("live-states")
    gate.touch()
    expect(row.locator(".badge")).to_have_text("SUCCEED")
    expect(row.locator(".counts")).to_have_text("1 SUCCEED")


def test_filters_by_state_and_name(page: Page, sdk: batch_client.BatchClient) -> None:
    done = submit(sdk, task("ok", "true"), JobName="filter-me")
    failed = submit(sdk, task("bad", "exit 1"), JobName="filter-me")
    wait_for(lambda: call(sdk, "DescribeJob", {"JobId": failed}).JobState == "FAILED")
    sign_in(page)
    page.fill("form.filters input[name=name]", "filter-me")
    page.select_option("form.filters select[name=state]", "FAILED")
    page.click("form.filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"#/jobs\?state=FAILED&name=filter-me$"))
    expect(page.locator("table.jobs tbody tr")).to_have_count(1)
    expect(job_row(page, failed)).to_be_visible()
    expect(job_row(page, done)).to_have_count(0)
    page.click("form.filters button:text('Clear')")
    expect(job_row(page, done)).to_be_visible()


def test_a_job_name_is_shown_as_text_never_as_markup(page: Page, sdk: batch_client.BatchClient) -> None:
    name = '<img src=x id=injected onerror="document.title=1">'
    job_id = submit(sdk, task("t", "true"), JobName=name)
    sign_in(page)
    expect(job_row(page, job_id).locator("td").nth(1)).to_have_text(name)
    job_row(page, job_id).locator("a.job-link").click()
    expect(page.locator("h1 .job-name")).to_have_text(name)
    assert page.locator("#injected").count() == 0
