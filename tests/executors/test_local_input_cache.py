"""A node keeps the single-object inputs of its latest attempt: the next attempt of the task copies them
from the node's disk while their versions are unchanged, never a copy the attempt before changed, and
fetches an object written again (by the next task at once, by the same one within a second)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from pathlib import Path

import pytest

from batchyard.domain.attempts import DataPlan
from batchyard.executors.base import AttemptFinished
from batchyard.runner.recent_versions import TRUSTED_S

from .harness import Harness, attempt
from .test_local_staging_ahead import BUCKET, assert_succeeded, launch_mapped, put_object, read_object

READ = "mkdir out && cp in/x.txt out/"


pytestmark = pytest.mark.parametrize("harness", ["local"], indirect=True)  # conftest's fixture


async def run_mapped(harness: Harness, pk: int, command: str, task_name: str = "task") -> None:
    launch_mapped(harness, pk, command, "in/x.txt", "in/", task_name)
    assert_succeeded(await harness.wait(AttemptFinished, pk))


async def test_an_input_the_attempt_before_changed_reaches_the_next_as_stored(
    harness: Harness, tmp_path: Path
) -> None:
    put_object(tmp_path, "in/x.txt", "as stored\n")
    await harness.ready_node()
    await run_mapped(harness, 1, f"echo changed by 1 >> in/x.txt && {READ}")
    await run_mapped(harness, 2, READ)

    assert read_object(tmp_path, "results/1/x.txt") == "as stored\nchanged by 1\n"
    assert read_object(tmp_path, "results/2/x.txt") == "as stored\n"


@pytest.mark.parametrize(
    ("task_name", "after_s"),
    [
        ("next", 0.0),  # a task that depends on the one that wrote it reads what it wrote, at once
        ("task", TRUSTED_S),  # the same task's attempts, once its version has been asked again
    ],
)
async def test_an_input_written_again_is_fetched_again(
    harness: Harness, tmp_path: Path, task_name: str, after_s: float
) -> None:
    put_object(tmp_path, "in/x.txt", "first\n")
    await harness.ready_node()
    await run_mapped(harness, 1, READ)
    put_object(tmp_path, "in/x.txt", "written again\n")
    await asyncio.sleep(after_s)
    await run_mapped(harness, 2, READ, task_name)

    assert read_object(tmp_path, "results/1/x.txt") == "first\n"
    assert read_object(tmp_path, "results/2/x.txt") == "written again\n"


async def test_a_task_whose_output_replaces_its_input_reads_each_write_at_once(
    harness: Harness, tmp_path: Path
) -> None:
    """Its instances may hand an object on to one another: each reads the one before's."""
    put_object(tmp_path, "state/x.txt", "0\n")
    data = DataPlan(
        inputs=((f"cos://{BUCKET}/state/x.txt", "in/"),), outputs=(("out/", f"cos://{BUCKET}/state/"),)
    )
    await harness.ready_node()
    for pk in (1, 2, 3):
        spec = dataclasses.replace(
            attempt(pk, f"mkdir out && {{ cat in/x.txt; echo {pk}; }} > out/x.txt"), data=data
        )
        harness.launched[pk] = spec
        harness.executor.launch([spec])
        assert_succeeded(await harness.wait(AttemptFinished, pk))

    assert read_object(tmp_path, "state/x.txt") == "0\n1\n2\n3\n"


async def test_an_unchanged_input_is_copied_from_the_node(harness: Harness, tmp_path: Path) -> None:
    """Bytes changed behind the store's back, keeping its version (size, modification time and inode for
    the folder store), are not seen: the second attempt's copy came from the node, not the store."""
    put_object(tmp_path, "in/x.txt", "kept\n")
    await harness.ready_node()
    await run_mapped(harness, 1, READ)
    stored = tmp_path / "cos" / BUCKET / "in" / "x.txt"
    before = stored.stat()
    with stored.open("r+") as f:  # the same size and inode
        f.write("KEPT\n")
    os.utime(stored, ns=(before.st_atime_ns, before.st_mtime_ns))
    await run_mapped(harness, 2, READ)

    assert read_object(tmp_path, "results/2/x.txt") == "kept\n"
