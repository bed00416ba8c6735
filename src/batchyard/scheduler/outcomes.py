"""Recording what nodes and attempts did: nodes ready, failed or lost; attempts started, or finished
with an outcome that may mean a retry."""

from __future__ import annotations

import logging

from batchyard.domain.attempts import Failure
from batchyard.domain.states import State
from batchyard.executors.base import (
    AttemptFinished,
    AttemptStarted,
    Event,
    HostsChanged,
    NodeEvent,
    NodeFailed,
    NodeLost,
    NodeReady,
    describe_hosts,
)
from batchyard.scheduler import nodes
from batchyard.scheduler.batch import Batch
from batchyard.scheduler.intents import cancel
from batchyard.scheduler.ledger import ActiveAttempt
from batchyard.scheduler.tick import Tick

log = logging.getLogger(__name__)

# Retries for attempts that failed through no fault of the command (lost node, failed upload),
# on top of the task's own MaxRetryCount.
SYSTEM_RETRIES = 3
_INTERRUPTING = ("INTERRUPT", "FAST_INTERRUPT")
# How many attempts may follow a failed one beyond the task's MaxRetryCount, by failure class;
# None: not one, whatever MaxRetryCount says.
_EXTRA_RETRIES: dict[Failure, int | None] = {
    Failure.USER: 0,
    Failure.SYSTEM: SYSTEM_RETRIES,
    Failure.UNRUNNABLE: None,
}


def apply_events(tick: Tick, events: list[Event]) -> None:
    batch = tick.batch()
    for event in events:
        if isinstance(event, AttemptStarted | AttemptFinished):
            active = tick.ledger.get(event.attempt_pk)
            if active is None:  # already recorded: an event is applied at most once
                continue
            if isinstance(event, AttemptStarted):
                _started(tick, batch, active, event)
            else:
                _finished(tick, batch, active, event)
        elif isinstance(event, HostsChanged):
            log.info("hosts changed: %s", describe_hosts(event.hosts))
            tick.fleet.set_hosts(event.hosts)
        else:
            _node_event(tick, event)
    batch.write(tick.conn)


def _node_event(tick: Tick, event: NodeEvent) -> None:
    node = tick.fleet.get(event.node_id)
    if node is None:
        return
    if isinstance(event, NodeReady):
        nodes.ready(tick, node, event.handle)
    elif isinstance(event, NodeFailed):
        nodes.creation_failed(tick, node, event.reason)
    elif isinstance(event, NodeLost):
        nodes.lost(tick, node, event.reason)


def _started(tick: Tick, batch: Batch, active: ActiveAttempt, event: AttemptStarted) -> None:
    if active.state is not State.STARTING:
        return
    batch.move(active.task_pk, active.idx, State.STARTING, State.RUNNING, running_time=event.at)
    batch.attempt(event.attempt_pk, state=State.RUNNING.value, running_time=event.at, handle=event.handle)
    active.state = State.RUNNING
    tick.ledger.start_clock(active, event.at)
    if active.launched_at is not None:
        tick.tally.start_delays.append(event.at - active.launched_at)


def _finished(tick: Tick, batch: Batch, active: ActiveAttempt, event: AttemptFinished) -> None:
    tick.ledger.remove(event.attempt_pk)
    cached = tick.runtimes.get(tick.conn, active.task_pk)
    spec = cached.spec
    target, reason = outcome(active, event, spec.max_retry, spec.failed_action)
    tick.tally.ended[failure_class(active, event)] += 1
    batch.attempt(
        event.attempt_pk,
        state=(State.SUCCEED if event.failure is Failure.NONE else State.FAILED).value,
        end_time=event.at,
        exit_code=event.exit_code,
        reason=reason,
    )
    batch.move(
        active.task_pk,
        active.idx,
        active.state,
        target,
        end_time=None if target is State.RUNNABLE else event.at,
        runnable_time=event.at if target is State.RUNNABLE else None,
        exit_code=event.exit_code,
        reason=reason
        if target is not State.RUNNABLE
        else f"Attempt {active.number} failed; retrying: {reason}",
    )
    node = tick.fleet.get(active.node_id)
    if node is not None:
        if active.started_at is not None:  # how long it ran tunes its pool's depth
            seconds = event.at - active.started_at
            tick.fleet.observe(node.pool, active.task_pk, seconds, cached.data.fetches)
        held = (active.task_pk, active.idx) if target is State.FAILED_INTERRUPTED else None
        nodes.freed(tick, node, event.attempt_pk, held)
        if held is not None:  # the node is kept for this instance: what waited for it runs elsewhere
            waiting = [a for a in map(tick.ledger.get, node.queue) if a is not None]
            reason = f"The compute node {node.node_id} is kept for an interrupted instance."
            cancel(tick, waiting, reason, retry=True, blame=Failure.SYSTEM)


def outcome(
    active: ActiveAttempt, event: AttemptFinished, max_retry: int, failed_action: str
) -> tuple[State, str]:
    """The instance's next state and reason after one attempt ended."""
    if event.failure is Failure.NONE:
        return State.SUCCEED, ""
    cancel = active.cancel
    reason = cancel.reason if cancel is not None else event.reason
    if cancel is not None and not cancel.retry:
        return State.FAILED, reason
    extra = _EXTRA_RETRIES[failure_class(active, event)]
    budget = 0 if extra is None else max_retry + extra
    if active.number <= budget:
        return State.RUNNABLE, reason
    return (State.FAILED_INTERRUPTED if failed_action in _INTERRUPTING else State.FAILED), reason


def failure_class(active: ActiveAttempt, event: AttemptFinished) -> Failure:
    """Who is to blame for how the attempt ended: the executor says, unless the scheduler killed it
    and blamed the system (its node was terminated under it)."""
    cancel = active.cancel
    if event.failure is not Failure.NONE and cancel is not None and cancel.blame:
        return cancel.blame
    return event.failure
