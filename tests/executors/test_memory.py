"""What the memory executor does beyond the contract: its refusals of caller bugs, its test controls,
and what ``reattach`` tells after a stop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from batchyard.domain.attempts import Failure
from batchyard.executors.base import (
    AttachedAttempt,
    AttachedNode,
    AttemptFinished,
    AttemptStarted,
    NodeFailed,
    NodeLost,
    NodeReady,
    NodeSpec,
)
from batchyard.executors.memory import MemoryExecutor, NodeBusy

from .harness import SMALL, Harness, attempt, log_ref, memory_backend, started


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    with started(memory_backend(tmp_path)) as harness:
        yield harness


@pytest.fixture
def memory(harness: Harness) -> MemoryExecutor:
    assert isinstance(harness.executor, MemoryExecutor)
    return harness.executor


async def test_events_are_delivered_on_the_loop_never_inside_the_call(harness: Harness) -> None:
    harness.executor.provision([harness.node()])
    assert harness.events == []
    await harness.wait(NodeReady, "n1")


async def test_node_on_an_unknown_host_fails(harness: Harness) -> None:
    harness.executor.provision([NodeSpec("n1", "nowhere", SMALL)])
    assert "nowhere" in (await harness.wait(NodeFailed, "n1")).reason


async def test_retire_forgets_idle_nodes_and_refuses_a_busy_one(
    harness: Harness, memory: MemoryExecutor
) -> None:
    await harness.ready_node("idle")
    await harness.ready_node("busy")
    harness.launch(1, "sleep 30", node_id="busy")
    with pytest.raises(NodeBusy, match="busy"):
        memory.retire(["idle", "busy"])
    assert set(memory.nodes()) == {"idle", "busy"}
    memory.retire(["idle", "unknown"])
    assert set(memory.nodes()) == {"busy"}


async def test_finish_control_ends_a_running_attempt_with_the_given_outcome(
    harness: Harness, memory: MemoryExecutor
) -> None:
    await harness.ready_node()
    harness.launch(1, "sleep 30")
    assert set(memory.running()) == {1}
    memory.finish(1, 0, failure=Failure.SYSTEM, reason="The logs could not be uploaded.")
    finished = await harness.wait(AttemptFinished, 1)
    assert (finished.exit_code, finished.failure) == (0, Failure.SYSTEM)
    assert memory.running() == {}


async def test_log_tail_is_none_for_an_attempt_that_never_started_and_after_forget_job(
    harness: Harness,
) -> None:
    await harness.ready_node()
    spec = harness.launch(1, "echo hi")
    await harness.wait(AttemptFinished, 1)
    assert harness.executor.log_tail(log_ref(attempt(2, "true")), "stdout", 10) is None
    harness.executor.forget_job(spec.job_id)
    assert harness.executor.log_tail(log_ref(spec), "stdout", 10) is None


async def test_reattach_reports_a_node_lost_while_stopped_with_its_attempt(
    harness: Harness, memory: MemoryExecutor
) -> None:
    ready = await harness.ready_node()
    spec = harness.launch(1, "sleep 30")
    started = await harness.wait(AttemptStarted, 1)
    await harness.stop()
    memory.fail_node("n1")
    await harness.start()
    assert not harness.all(NodeLost, "n1")
    memory.reattach([AttachedNode(ready.handle, harness.node())], [AttachedAttempt(started.handle, spec)])
    await harness.wait(NodeLost, "n1")
    assert (await harness.wait(AttemptFinished, 1)).failure is Failure.SYSTEM


async def test_reattach_reports_what_started_unheard_and_starts_what_never_arrived(
    harness: Harness, memory: MemoryExecutor
) -> None:
    """A launch made while stopped is re-reported as started; one that never reached it is started now."""
    await harness.ready_node("n1")
    await harness.ready_node("n2")
    await harness.stop()
    unheard = attempt(1, "sleep 30", "n1")
    memory.launch([unheard])
    await harness.start()
    never_arrived = attempt(2, "sleep 30", "n2")
    memory.reattach([], [AttachedAttempt(None, unheard), AttachedAttempt(None, never_arrived)])
    await harness.wait(AttemptStarted, 1)
    await harness.wait(AttemptStarted, 2)
    assert set(memory.running()) == {1, 2}
    memory.cancel([1, 2])
