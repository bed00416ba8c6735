"""Recording what attempts did: started, or finished with an outcome that may mean a retry."""

from __future__ import annotations

from batchyard.domain.states import State
from batchyard.executors.base import AttemptEvent, AttemptFinished, AttemptStarted, Failure
from batchyard.scheduler.batch import Batch
from batchyard.scheduler.ledger import Active
from batchyard.scheduler.tick import Tick

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


def apply_events(tick: Tick, events: list[AttemptEvent]) -> None:
    batch = tick.batch()
    for event in events:
        active = tick.ledger.get(event.attempt_pk)
        if active is None:  # already recorded: an event is applied at most once
            if isinstance(event, AttemptFinished):
                tick.ended.append(event.attempt_pk)  # still, the executor may reuse what it kept
            continue
        if isinstance(event, AttemptStarted):
            _started(tick, batch, active, event)
        else:
            _finished(tick, batch, active, event)
    batch.write(tick.conn)


def _started(tick: Tick, batch: Batch, active: Active, event: AttemptStarted) -> None:
    if active.state is not State.STARTING:
        return
    batch.move(active.task_pk, active.idx, State.STARTING, State.RUNNING, running_time=event.at)
    batch.attempt(event.attempt_pk, state=State.RUNNING.value, running_time=event.at)
    active.state = State.RUNNING
    tick.ledger.start_clock(active, event.at)


def _finished(tick: Tick, batch: Batch, active: Active, event: AttemptFinished) -> None:
    tick.ledger.remove(event.attempt_pk)
    tick.ended.append(event.attempt_pk)
    spec = tick.runtimes.get(tick.conn, active.task_pk).spec
    target, reason = outcome(active, event, spec.max_retry, spec.failed_action)
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
        exit_code=event.exit_code,
        reason=reason
        if target is not State.RUNNABLE
        else f"Attempt {active.number} failed; retrying: {reason}",
    )
    if target is State.FAILED_INTERRUPTED:
        tick.ledger.hold(active.task_pk, active.idx, active.demand)


def outcome(active: Active, event: AttemptFinished, max_retry: int, failed_action: str) -> tuple[State, str]:
    """The instance's next state and reason after one attempt ended."""
    if event.failure is Failure.NONE:
        return State.SUCCEED, ""
    cancel = active.cancel
    reason = cancel.reason if cancel is not None else event.reason
    if cancel is not None and not cancel.retry:
        return State.FAILED, reason
    extra = _EXTRA_RETRIES[event.failure]
    budget = 0 if extra is None else max_retry + extra
    if active.number <= budget:
        return State.RUNNABLE, reason
    return (State.FAILED_INTERRUPTED if failed_action in _INTERRUPTING else State.FAILED), reason
