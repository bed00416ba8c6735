"""Carrying out what users asked for: terminating jobs and instances, retrying failed jobs.

Queued instances change state at once; running ones are marked (durably, so a restart finishes
the job) and killed after the tick commits; they end FAILED without retry when their process exits.
"""

from __future__ import annotations

from graphlib import TopologicalSorter
from typing import Any

from batchyard.domain.dependencies import Predecessor, blocking
from batchyard.domain.intents import TERMINATED_BY_INSTANCE, TERMINATED_BY_JOB, Intent
from batchyard.domain.states import FAILED_STATES, State
from batchyard.scheduler.ledger import Active, Cancel
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
    requests = scheduling.pending_requests(tick.conn)
    for request in requests:
        _HANDLERS[Intent(request.kind)](tick, request)
    scheduling.delete_requests(tick.conn, [r.pk for r in requests])


def cancel(tick: Tick, actives: list[Active], reason: str, retry: bool) -> None:
    """Mark attempts to be killed; the kill itself happens after the commit.

    A termination overrides a timeout already under way, so the instance is not retried after it.
    """
    fresh = [a for a in actives if a.cancel is None or (a.cancel.retry and not retry)]
    for active in fresh:
        active.cancel = Cancel(reason, retry)
    if not retry:
        scheduling.mark_cancelled(tick.conn, [a.attempt_pk for a in fresh], reason)
    tick.cancels.extend(a.attempt_pk for a in fresh)


def _terminate_job(tick: Tick, request: Any) -> None:
    tasks = queries.tasks_of(tick.conn, request.job_pk)
    for task in tasks:
        _fail_waiting(tick, task.pk, TERMINATED_BY_JOB)
    cancel(tick, tick.ledger.of_tasks({t.pk for t in tasks}), TERMINATED_BY_JOB, retry=False)
    scheduling.set_job_reason(tick.conn, request.job_pk, TERMINATED_BY_JOB)
    tick.touched.update(t.pk for t in tasks)


def _fail_waiting(tick: Tick, task_pk: int, reason: str) -> None:
    for idx in scheduling.indexes_in_state(tick.conn, task_pk, State.FAILED_INTERRUPTED):
        tick.ledger.release(task_pk, idx)
    values = {"reason": reason, "end_time": tick.now}
    for state in (*_QUEUED, State.FAILED_INTERRUPTED):
        scheduling.move_all(tick.conn, task_pk, state, State.FAILED, values)


def _terminate_instance(tick: Tick, request: Any) -> None:
    state = scheduling.instance_state(tick.conn, request.task_pk, request.idx)
    if state is None or state in (State.SUCCEED, State.FAILED):
        return
    active = tick.ledger.on_instance(request.task_pk, request.idx)
    if active is not None:
        cancel(tick, [active], TERMINATED_BY_INSTANCE, retry=False)
        return
    if state is State.FAILED_INTERRUPTED:
        tick.ledger.release(request.task_pk, request.idx)
    batch = tick.batch()
    batch.move(
        request.task_pk, request.idx, state, State.FAILED, reason=TERMINATED_BY_INSTANCE, end_time=tick.now
    )
    batch.write(tick.conn)


def _retry_job(tick: Tick, request: Any) -> None:
    """Re-run the failed instances, following the DAG, with a fresh retry budget."""
    job = scheduling.job_of(tick.conn, request.job_pk)
    if State(job.state) not in FAILED_STATES:
        return
    tasks = {t.pk: t for t in queries.tasks_of(tick.conn, request.job_pk)}
    graph: dict[int, set[int]] = {pk: set() for pk in tasks}
    for start, end in scheduling.job_edges(tick.conn, request.job_pk):
        graph[end].add(start)
    states = {pk: State(t.state) for pk, t in tasks.items()}
    for pk in TopologicalSorter(graph).static_order():
        if states[pk] is State.SUCCEED:
            continue
        preds = [Predecessor(tasks[p].name, states[p], tasks[p].n_succeed) for p in graph[pk]]
        ready, culprit = blocking(preds, job.depend_on)
        target = State.RUNNABLE if ready and culprit is None else State.PENDING
        for idx in scheduling.indexes_in_state(tick.conn, pk, State.FAILED_INTERRUPTED):
            tick.ledger.release(pk, idx)
        for source in FAILED_STATES:
            scheduling.move_all(tick.conn, pk, source, target, _RESET)
        states[pk] = target
        tick.touched.add(pk)
    scheduling.set_job_reason(tick.conn, request.job_pk, "")


_HANDLERS = {
    Intent.TERMINATE_JOB: _terminate_job,
    Intent.TERMINATE_INSTANCE: _terminate_instance,
    Intent.RETRY_JOB: _retry_job,
}
