"""Carrying out what users asked for: terminating jobs and instances, retrying failed jobs.

Queued instances change state at once; running ones are marked (durably, so a restart finishes
the job) and killed after the tick commits; they end FAILED without retry when their process exits.
"""

from __future__ import annotations

from graphlib import TopologicalSorter
from typing import Any

from batchyard.domain.attempts import Failure
from batchyard.domain.dependencies import Predecessor, blocking
from batchyard.domain.intents import TERMINATED_BY_INSTANCE, TERMINATED_BY_JOB, Intent
from batchyard.domain.states import FAILED_STATES, State
from batchyard.scheduler import nodes
from batchyard.scheduler.ledger import ActiveAttempt, Cancel
from batchyard.scheduler.tick import Tick
from batchyard.store import queries, scheduling

_QUEUED = (State.SUBMITTED, State.PENDING, State.RUNNABLE)
_RESET = {
    "attempts": 0,
    "exit_code": None,
    "reason": "",
    "node_instance_id": None,
    "launch_time": None,
    "running_time": None,
    "end_time": None,
}


def carry_out(tick: Tick) -> None:
    intents = scheduling.pending_intents(tick.conn)
    for intent in intents:
        _HANDLERS[Intent(intent.kind)](tick, intent)
    scheduling.delete_intents(tick.conn, [i.pk for i in intents])


def cancel(
    tick: Tick, actives: list[ActiveAttempt], reason: str, retry: bool, blame: Failure | None = None
) -> None:
    """Mark attempts to be killed; the kill itself happens after the commit.

    A termination overrides a timeout already under way, so the instance is not retried after it.
    """
    fresh = [a for a in actives if a.cancel is None or (a.cancel.retry and not retry)]
    for active in fresh:
        active.cancel = Cancel(reason, retry, blame)
    if not retry:
        scheduling.mark_cancelled(tick.conn, [a.attempt_pk for a in fresh], reason)
    tick.cancels.extend(a.attempt_pk for a in fresh)


def _terminate_job(tick: Tick, intent: Any) -> None:
    tasks = queries.tasks_of(tick.conn, intent.job_pk)
    for task in tasks:
        _fail_waiting(tick, task.pk, TERMINATED_BY_JOB)
    cancel(tick, tick.ledger.of_tasks({t.pk for t in tasks}), TERMINATED_BY_JOB, retry=False)
    scheduling.set_job_reason(tick.conn, intent.job_pk, TERMINATED_BY_JOB)
    tick.touched.update(t.pk for t in tasks)


def _fail_waiting(tick: Tick, task_pk: int, reason: str) -> None:
    for idx in scheduling.indexes_in_state(tick.conn, task_pk, State.FAILED_INTERRUPTED):
        nodes.release(tick, (task_pk, idx))
    values = {"reason": reason, "end_time": tick.now}
    for state in (*_QUEUED, State.FAILED_INTERRUPTED):
        tick.move_all(task_pk, state, State.FAILED, values)


def _terminate_instance(tick: Tick, intent: Any) -> None:
    state = scheduling.instance_state(tick.conn, intent.task_pk, intent.idx)
    if state is None or state in (State.SUCCEED, State.FAILED):
        return
    active = tick.ledger.on_instance(intent.task_pk, intent.idx)
    if active is not None:
        cancel(tick, [active], TERMINATED_BY_INSTANCE, retry=False)
        return
    if state is State.FAILED_INTERRUPTED:
        nodes.release(tick, (intent.task_pk, intent.idx))
    batch = tick.batch()
    batch.move(
        intent.task_pk, intent.idx, state, State.FAILED, reason=TERMINATED_BY_INSTANCE, end_time=tick.now
    )
    batch.write(tick.conn)


def _retry_job(tick: Tick, intent: Any) -> None:
    """Re-run the failed instances, following the DAG, with a fresh retry budget."""
    job = scheduling.job_of(tick.conn, intent.job_pk)
    if State(job.state) not in FAILED_STATES:
        return
    tasks = {t.pk: t for t in queries.tasks_of(tick.conn, intent.job_pk)}
    graph: dict[int, set[int]] = {pk: set() for pk in tasks}
    for start, end in scheduling.job_edges(tick.conn, intent.job_pk):
        graph[end].add(start)
    states = {pk: State(t.state) for pk, t in tasks.items()}
    again: list[int] = []
    for pk in TopologicalSorter(graph).static_order():
        if states[pk] is State.SUCCEED:
            continue
        preds = [Predecessor(tasks[p].name, states[p], tasks[p].n_succeed) for p in graph[pk]]
        ready, culprit = blocking(preds, job.depend_on)
        target = State.RUNNABLE if ready and culprit is None else State.PENDING
        for idx in scheduling.indexes_in_state(tick.conn, pk, State.FAILED_INTERRUPTED):
            nodes.release(tick, (pk, idx))
        reset = {**_RESET, "runnable_time": tick.now if target is State.RUNNABLE else None}
        for source in FAILED_STATES:
            tick.move_all(pk, source, target, reset)
        states[pk] = target
        tick.touched.add(pk)
        again.append(pk)
    tick.reasons.unexplain(tick.conn, again)
    scheduling.set_job_reason(tick.conn, intent.job_pk, "")
    tick.notices.job_retried(tick.conn, intent.job_pk)  # a finished job was forgotten: heard again


_HANDLERS = {
    Intent.TERMINATE_JOB: _terminate_job,
    Intent.TERMINATE_INSTANCE: _terminate_instance,
    Intent.RETRY_JOB: _retry_job,
}
