"""The scheduler's side of notifications: which events a tick stores in the outbox, and when.

The real scheduler over a real SQLite store and the in-memory executor (``scheduling_harness``); the
outbox is read back as the delivery reads it. Nothing here delivers: tests/api/test_notifications.py
does, to a real HTTP receiver.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from scheduling_harness import ME, Rig, started, task
from sqlalchemy import func, select

from batchyard.store.tables import jobs, outbox, subscriptions

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with started(tmp_path, topics=["ops"]) as running:
        yield running


def notify(*events: str) -> list[dict[str, Any]]:
    configs = [{"EventName": e, "EventVars": [{"Name": "k", "Value": "v"}]} for e in events]
    return [{"TopicName": "ops", "EventConfigs": configs}]


def stored(rig: Rig) -> list[Any]:
    with rig.db.read() as conn:
        return list(conn.execute(select(outbox).order_by(outbox.c.pk)))


def events(rig: Rig) -> list[str]:
    return [row.event for row in stored(rig)]


def count(rig: Rig, table: Any) -> int:
    with rig.db.read() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


async def test_jobs_without_notifications_store_no_events(rig: Rig) -> None:
    job = await rig.submit(task(instances=2))
    await rig.until(lambda: len(rig.running(job)) == 2, "both instances run")
    for spec in rig.running(job):
        rig.finish(spec, exit_code=1)
    await rig.until(lambda: rig.job_state(job) == "FAILED", "the job failed")
    await rig.quiet()
    assert (count(rig, subscriptions), count(rig, outbox)) == (0, 0)


async def test_each_instance_of_a_terminated_task_is_told(rig: Rig) -> None:
    """Two instances run (their kills end them one by one), 2,998 wait (they fail in one statement)."""
    job = await rig.submit(task(instances=3000), Notifications=notify("TASK_INSTANCE_FAILED", "JOB_FAILED"))
    await rig.until(lambda: len(rig.running(job)) == 2, "two instances run")
    await asyncio.to_thread(rig.control.terminate_job, ME, job)
    await rig.until(lambda: rig.job_state(job) == "FAILED", "the job failed")
    await rig.quiet()

    rows = stored(rig)
    told = [row for row in rows if row.event == "TASK_INSTANCE_FAILED"]
    assert sorted(row.idx for row in told) == list(range(3000))
    assert [row.event for row in rows if row.event != "TASK_INSTANCE_FAILED"] == ["JOB_FAILED"]
    assert json.loads(told[0].batch) == {
        "JobId": job,
        "JobName": "",
        "TaskName": "t",
        "TaskInstanceState": "FAILED",
    }
    assert json.loads(told[0].event_vars) == [{"Name": "k", "Value": "v"}]
    assert {(row.topic, row.region, row.attempts) for row in rows} == {("ops", "ap-guangzhou", 0)}


async def test_an_instance_that_starts_and_ends_in_one_tick_still_reports_running(tmp_path: Path) -> None:
    """Its start and end are recorded together, so neither it, its task nor its job is ever stored
    RUNNING; each still reports RUNNING before SUCCEED."""
    rig = Rig(tmp_path, topics=["ops"], auto_finish=lambda spec: 0)
    await rig.start()
    try:
        wanted = [
            f"{scope}_{state}"
            for scope in ("JOB", "TASK", "TASK_INSTANCE")
            for state in ("RUNNING", "SUCCEED")
        ]
        job = await rig.submit(task(), Notifications=notify(*wanted))
        await rig.until(lambda: rig.job_state(job) == "SUCCEED", "the job succeeded")
        await rig.quiet()
        told = events(rig)
    finally:
        await rig.stop()
        rig.close()
    assert sorted(told) == sorted(wanted)
    for scope in ("JOB", "TASK", "TASK_INSTANCE"):
        assert told.index(f"{scope}_RUNNING") < told.index(f"{scope}_SUCCEED")


async def test_a_retried_job_is_told_again(rig: Rig) -> None:
    job = await rig.submit(task(), Notifications=notify("JOB_FAILED", "JOB_SUCCEED"))
    await rig.until(lambda: len(rig.running(job)) == 1, "it runs")
    rig.finish(rig.running(job)[0], exit_code=1)
    await rig.until(lambda: rig.job_state(job) == "FAILED", "the job failed")
    await rig.quiet()  # a tick after the end: the scheduler forgets the finished job
    await rig.retry_job(job)
    await rig.until(lambda: len(rig.running(job)) == 1, "it runs again")
    rig.finish(rig.running(job)[0])
    await rig.until(lambda: rig.job_state(job) == "SUCCEED", "the job succeeded")
    await rig.quiet()
    assert events(rig) == ["JOB_FAILED", "JOB_SUCCEED"]


async def test_a_job_numbered_as_a_deleted_one_is_not_told_its_events(rig: Rig) -> None:
    """Only a finished job can be deleted, and a finished job is forgotten: the store may give its
    number to the next job, which must not inherit its subscriptions."""
    first = await rig.submit(task(), Notifications=notify("JOB_SUCCEED"))
    await rig.until(lambda: len(rig.running(first)) == 1, "it runs")
    rig.finish(rig.running(first)[0])
    await rig.until(lambda: rig.job_state(first) == "SUCCEED", "the first job succeeded")
    await rig.delete_job(first)
    second = await rig.submit(task())
    with rig.db.read() as conn:
        assert conn.scalar(select(jobs.c.pk).where(jobs.c.job_id == second)) == 1  # the first one's
    await rig.until(lambda: len(rig.running(second)) == 1, "it runs")
    rig.finish(rig.running(second)[0])
    await rig.until(lambda: rig.job_state(second) == "SUCCEED", "the second job succeeded")
    await rig.quiet()
    assert [(row.event, json.loads(row.batch)["JobId"]) for row in stored(rig)] == [("JOB_SUCCEED", first)]
