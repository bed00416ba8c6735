"""A node keeps the single-object inputs of its latest attempt: the next attempt of the task copies them
from the node's disk while their versions are unchanged, never a copy the attempt before changed, and
fetches an object written again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from batchyard.executors.base import AttemptFinished

from .harness import Harness
from .test_local_staging_ahead import BUCKET, assert_succeeded, launch_mapped, put_object, read_object

READ = "mkdir out && cp in/x.txt out/"


pytestmark = pytest.mark.parametrize("harness", ["local"], indirect=True)  # conftest's fixture


async def run_mapped(harness: Harness, pk: int, command: str) -> None:
    launch_mapped(harness, pk, command, "in/x.txt", "in/")
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


async def test_an_input_written_again_is_fetched_again(harness: Harness, tmp_path: Path) -> None:
    put_object(tmp_path, "in/x.txt", "first\n")
    await harness.ready_node()
    await run_mapped(harness, 1, READ)
    put_object(tmp_path, "in/x.txt", "written again\n")
    await run_mapped(harness, 2, READ)

    assert read_object(tmp_path, "results/1/x.txt") == "first\n"
    assert read_object(tmp_path, "results/2/x.txt") == "written again\n"


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
