"""What the scheduler relies on from every executor, run over each implementation (see ``BACKENDS``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest

from batchyard.domain.attempts import Failure
from batchyard.domain.resources import Resources
from batchyard.executors.base import (
    AttachedAttempt,
    AttachedNode,
    AttemptFinished,
    AttemptStarted,
    NodeFailed,
    NodeLost,
    NodeReady,
    Usage,
)

from .harness import LOSES_NODES, MEASURES_USAGE, Harness, attempt, log_ref


async def test_provisioned_node_becomes_ready_with_a_handle(harness: Harness) -> None:
    ready = await harness.ready_node("n1")
    assert ready.handle
    assert not harness.all(NodeFailed, "n1")


async def test_node_too_big_for_every_host_fails(harness: Harness) -> None:
    widest = max(host.capacity.cpu for host in harness.executor.hosts())
    harness.executor.provision([harness.node("n1", Resources(cpu=widest + 1, memory_gib=1))])
    failed = await harness.wait(NodeFailed, "n1")
    assert failed.reason
    assert not harness.all(NodeReady, "n1")


async def test_successful_command_starts_then_finishes_with_exit_0(harness: Harness) -> None:
    await harness.ready_node()
    harness.launch(1, "true")
    finished = await harness.wait(AttemptFinished, 1)
    started = harness.first(AttemptStarted, 1)
    assert started is not None and started.handle
    assert harness.events.index(started) < harness.events.index(finished)
    assert (finished.exit_code, finished.failure) == (0, Failure.NONE)


async def test_failing_command_is_a_user_failure_with_its_exit_code(harness: Harness) -> None:
    await harness.ready_node()
    harness.launch(1, "exit 3")
    finished = await harness.wait(AttemptFinished, 1)
    assert (finished.exit_code, finished.failure) == (3, Failure.USER)
    assert finished.reason


async def test_cancel_ends_a_running_attempt_quickly_and_once(harness: Harness) -> None:
    await harness.ready_node()
    harness.launch(1, "sleep 30")
    await harness.wait(AttemptStarted, 1)
    asked = time.monotonic()
    harness.executor.cancel([1, 1])
    finished = await harness.wait(AttemptFinished, 1, timeout=5)
    assert time.monotonic() - asked < 5
    assert finished.failure is not Failure.NONE
    harness.executor.cancel([1])
    await harness.quiet()
    assert harness.all(AttemptFinished, 1) == [finished]


async def test_cancel_of_unknown_attempts_is_ignored(harness: Harness) -> None:
    harness.executor.cancel([404])
    await harness.quiet()
    assert harness.events == []


async def test_attempt_launched_twice_runs_once(harness: Harness) -> None:
    """The scheduler never reuses an attempt number; a repeat while the attempt runs is ignored."""
    await harness.ready_node()
    spec = attempt(1, "sleep 1; exit 4")
    harness.executor.launch([spec, spec])
    harness.executor.launch([spec])
    await harness.wait(AttemptStarted, 1)
    harness.executor.launch([spec])
    await harness.backend.run_out(spec)
    await harness.wait(AttemptFinished, 1)
    await harness.quiet()
    assert len(harness.all(AttemptStarted, 1)) == 1
    assert len(harness.all(AttemptFinished, 1)) == 1


async def test_log_tail_returns_the_output_after_the_attempt_ends(harness: Harness) -> None:
    await harness.ready_node()
    spec = harness.launch(1, "echo hi")
    await harness.wait(AttemptFinished, 1)
    assert harness.executor.log_tail(log_ref(spec), "stdout", 1024) == b"hi\n"
    assert harness.executor.log_tail(log_ref(spec), "stdout", 2) == b"i\n"


@pytest.mark.parametrize("harness", LOSES_NODES, indirect=True)
async def test_lost_node_is_reported_and_its_attempt_is_a_system_failure(harness: Harness) -> None:
    await harness.ready_node()
    harness.launch(1, "sleep 30")
    await harness.wait(AttemptStarted, 1)
    assert harness.backend.lose_node is not None
    harness.backend.lose_node("n1")
    await harness.wait(NodeLost, "n1")
    finished = await harness.wait(AttemptFinished, 1)
    assert (finished.exit_code, finished.failure) == (None, Failure.SYSTEM)


async def test_attempt_running_across_a_restart_is_reported_when_it_ends(harness: Harness) -> None:
    ready = await harness.ready_node()
    spec = harness.launch(1, "sleep 2")
    started = await harness.wait(AttemptStarted, 1)
    await harness.restart()
    assert harness.first(AttemptFinished, 1) is None
    harness.executor.reattach(
        [AttachedNode(ready.handle, harness.node())], [AttachedAttempt(started.handle, spec)]
    )
    await harness.backend.run_out(spec)
    finished = await harness.wait(AttemptFinished, 1)
    assert (finished.exit_code, finished.failure) == (0, Failure.NONE)
    assert not harness.all(NodeLost, "n1")


async def test_attempt_that_ended_while_stopped_is_reported_with_its_exit_code(harness: Harness) -> None:
    ready = await harness.ready_node()
    spec = harness.launch(1, "sleep 1; exit 4")
    started = await harness.wait(AttemptStarted, 1)
    await harness.stop()
    await harness.backend.run_out(spec)
    await harness.start()
    harness.executor.reattach(
        [AttachedNode(ready.handle, harness.node())], [AttachedAttempt(started.handle, spec)]
    )
    finished = await harness.wait(AttemptFinished, 1)
    assert (finished.exit_code, finished.failure) == (4, Failure.USER)


async def test_attempts_on_a_busy_node_run_after_it_in_order_and_an_unknown_node_refuses(
    harness: Harness,
) -> None:
    """A node runs one attempt at a time: later ones assigned to it wait, and one cancelled while
    waiting ends without starting."""
    await harness.ready_node()
    first = harness.launch(1, "sleep 1; exit 4")
    harness.launch(2, "true")
    harness.launch(3, "sleep 30")
    harness.launch(4, "true")
    harness.launch(5, "true", node_id="n404")
    refused = await harness.wait(AttemptFinished, 5)
    assert (refused.exit_code, refused.failure) == (None, Failure.SYSTEM)
    await harness.wait(AttemptStarted, 1)
    assert not harness.all(AttemptStarted, 2), "the node is busy with attempt 1"
    harness.executor.cancel([4])
    cancelled = await harness.wait(AttemptFinished, 4)
    assert cancelled.failure is not Failure.NONE and not harness.all(AttemptStarted, 4)
    await harness.backend.run_out(first)
    assert (await harness.wait(AttemptFinished, 2)).exit_code == 0
    await harness.wait(AttemptStarted, 3)
    harness.executor.cancel([3])
    await harness.wait(AttemptFinished, 3)
    order = [e.attempt_pk for e in harness.events if isinstance(e, AttemptStarted)]
    assert order == [1, 2, 3]


@pytest.mark.parametrize("harness", MEASURES_USAGE, indirect=True)
async def test_usage_reports_running_attempts_only_as_shares_of_their_node(harness: Harness) -> None:
    await harness.ready_node()
    harness.launch(1, "sleep 30")
    await harness.wait(AttemptStarted, 1)
    (usage,) = await _measured(harness)
    assert usage.attempt_pk == 1
    assert usage.memory_percent is not None and 0 <= usage.memory_percent < 100
    assert usage.cpu_percent is not None and 0 <= usage.cpu_percent <= 100
    harness.executor.cancel([1])
    await harness.wait(AttemptFinished, 1)
    assert list(await harness.executor.usage()) == []


async def _measured(harness: Harness, timeout: float = 30) -> Sequence[Usage]:
    """The first usage that says something: a cluster's accounting samples a step a moment after it
    starts."""
    async with asyncio.timeout(timeout):
        while not (found := await harness.executor.usage()):
            await asyncio.sleep(0.2)
    return found
