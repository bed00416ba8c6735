"""What the local executor's sandbox does beyond the contract: binds at absolute paths, read-only or
writable, handed to the task user; node cgroups made and removed with their nodes."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from batchyard.domain.attempts import Bind, Failure
from batchyard.executors.base import AttemptFinished, AttemptStarted
from batchyard.executors.local import SANDBOX_ENDED
from batchyard.runner.node_sandbox import held_sandboxes

from .harness import Harness, attempt, host_isolation, local_backend, started


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    assert host_isolation().sandboxed, "the sandbox is installed where the tests run (`make test`)"
    with started(local_backend(tmp_path)) as harness:
        yield harness


async def test_binds_are_mounted_at_their_targets_read_only_or_writable(
    harness: Harness, tmp_path: Path
) -> None:
    given, results = tmp_path / "given", tmp_path / "results"
    given.mkdir()
    results.mkdir()
    (given / "a.txt").write_text("input\n")
    await harness.ready_node()
    command = "cat /data/input/a.txt > /data/output/b.txt && ! touch /data/input/c.txt 2>/dev/null"
    binds = (Bind(str(given), "/data/input", False), Bind(str(results), "/data/output", True))
    spec = dataclasses.replace(attempt(1, command), binds=binds)
    harness.launched[1] = spec
    harness.executor.launch([spec])

    finished = await harness.wait(AttemptFinished, 1)

    assert (finished.exit_code, finished.failure) == (0, Failure.NONE), finished.reason
    assert (results / "b.txt").read_text() == "input\n"
    assert not (given / "c.txt").exists(), "a read-only bind stays read-only"
    assert not os.path.exists("/data/input"), "mounted for the attempt, not made on the host"


async def test_a_node_s_cgroup_lives_as_long_as_the_node(harness: Harness) -> None:
    cgroups = host_isolation().cgroups
    assert cgroups is not None
    await harness.ready_node("n-cgroup")
    path = f"{cgroups.root}/n-cgroup"
    assert os.path.isdir(path)
    with open(f"{path}/{cgroups.layout.memory_limit}") as f:
        assert int(f.read()) == 2**30, "the node's instance type's memory"

    harness.executor.retire(["n-cgroup"])
    await harness.stop()  # waits for the retirement's I/O

    assert not os.path.exists(path)


async def test_an_attempt_whose_node_sandbox_ends_under_it_is_a_system_fault(
    harness: Harness, tmp_path: Path
) -> None:
    """The node's kept sandbox is killed from outside while the command runs in it: the command did
    not fail, its node did, so the attempt is retried as a system fault; the next attempt gets a
    fresh sandbox and runs."""
    await harness.ready_node()
    harness.launch(1, "true")
    await harness.wait(AttemptFinished, 1)
    harness.launch(2, "sleep 30")
    await harness.wait(AttemptStarted, 2)
    await asyncio.sleep(0.5)  # in the sandbox by now
    kept = held_sandboxes(str(tmp_path / "runs" / "nodes"))
    assert len(kept) == 1, "the node kept the sandbox its first attempt ran in"

    for sandbox in kept.values():
        sandbox.close()
    finished = await harness.wait(AttemptFinished, 2)

    assert finished.failure is Failure.SYSTEM, finished
    assert finished.reason == SANDBOX_ENDED
    harness.launch(3, "true")
    assert (await harness.wait(AttemptFinished, 3)).failure is Failure.NONE
