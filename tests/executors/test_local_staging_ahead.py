"""A node stages the data of the attempt queued behind the one it runs: the queued one's inputs are
fetched while the one before it runs, and an attempt that will not take them (cancelled) leaves
nothing for the next one."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from batchyard.domain.attempts import DataPlan, Failure
from batchyard.executors.base import AttemptFinished, AttemptStarted
from batchyard.executors.local import CANCELLED_BEFORE_START

from .harness import Harness, attempt

BUCKET = "ahead-1250000000"


pytestmark = pytest.mark.parametrize("harness", ["local"], indirect=True)  # conftest's fixture


def put_object(root: Path, key: str, text: str) -> None:
    """An object of the local backend's folder store (``<root>/cos/<bucket>/<key>``)."""
    path = root / "cos" / BUCKET / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def read_object(root: Path, key: str) -> str:
    return (root / "cos" / BUCKET / key).read_text()


def launch_mapped(
    harness: Harness, pk: int, command: str, source: str, local: str, task_name: str = "task"
) -> None:
    """An attempt of ``task_name`` whose input ``source`` (a key) is staged at ``local``, and whose
    ``out/`` folder (in its working folder) is uploaded under ``results/<pk>/``."""
    data = DataPlan(
        inputs=((f"cos://{BUCKET}/{source}", local),),
        outputs=(("out/", f"cos://{BUCKET}/results/{pk}/"),),
    )
    spec = dataclasses.replace(attempt(pk, command), data=data, task_name=task_name)
    harness.launched[pk] = spec
    harness.executor.launch([spec])


def assert_succeeded(finished: AttemptFinished) -> None:
    assert (finished.exit_code, finished.failure) == (0, Failure.NONE), finished.reason


async def busy_node(harness: Harness) -> None:
    """A node running attempt 1 for two seconds: what is launched meanwhile waits behind it."""
    await harness.ready_node()
    harness.launch(1, "sleep 2")
    await harness.wait(AttemptStarted, 1)


async def test_a_queued_attempt_s_input_is_fetched_while_the_one_before_it_runs(
    harness: Harness, tmp_path: Path
) -> None:
    put_object(tmp_path, "in/x.txt", "as it was when the node was busy\n")
    await busy_node(harness)
    launch_mapped(harness, 2, "mkdir out && cp in/x.txt out/", "in/x.txt", "in/")
    await asyncio.sleep(1)  # attempt 1 still runs; attempt 2's input is staged meanwhile

    put_object(tmp_path, "in/x.txt", "written after\n")
    finished = await harness.wait(AttemptFinished, 2)

    assert_succeeded(finished)
    assert read_object(tmp_path, "results/2/x.txt") == "as it was when the node was busy\n"


async def test_data_staged_for_a_cancelled_attempt_is_not_seen_by_the_next(
    harness: Harness, tmp_path: Path
) -> None:
    put_object(tmp_path, "b/only-b.txt", "b\n")
    put_object(tmp_path, "c/only-c.txt", "c\n")
    await busy_node(harness)
    listing = "mkdir out && ls -A in > out/listing"
    launch_mapped(harness, 2, listing, "b/", "in/")
    launch_mapped(harness, 3, listing, "c/", "in/")
    await asyncio.sleep(0.5)

    harness.executor.cancel([2])
    cancelled = await harness.wait(AttemptFinished, 2)
    finished = await harness.wait(AttemptFinished, 3)

    assert cancelled.reason == CANCELLED_BEFORE_START
    assert harness.first(AttemptStarted, 2) is None
    assert_succeeded(finished)
    assert read_object(tmp_path, "results/3/listing") == "only-c.txt\n"


async def test_an_input_missing_when_staged_ahead_fails_only_its_own_attempt(
    harness: Harness, tmp_path: Path
) -> None:
    put_object(tmp_path, "in/x.txt", "x\n")
    await busy_node(harness)
    launch_mapped(harness, 2, "mkdir out && cp in/* out/", "missing/x.txt", "in/")
    launch_mapped(harness, 3, "mkdir out && cp in/* out/", "in/x.txt", "in/")

    failed = await harness.wait(AttemptFinished, 2)
    finished = await harness.wait(AttemptFinished, 3)

    assert failed.failure is Failure.SYSTEM
    assert f"cos://{BUCKET}/missing/x.txt" in failed.reason
    assert harness.first(AttemptStarted, 2) is None
    assert (await harness.wait(AttemptFinished, 1)).failure is Failure.NONE
    assert_succeeded(finished)
    assert read_object(tmp_path, "results/3/x.txt") == "x\n"
