"""Roll-ups and dependencies: after instances move, tasks and jobs follow, and successors start or fail."""

from __future__ import annotations

from batchyard.domain.dependencies import Predecessor, blocking
from batchyard.domain.states import FAILED_STATES, TERMINAL, State, roll_up
from batchyard.scheduler.tick import Tick
from batchyard.store import scheduling
from batchyard.store.tables import COUNTER


def settle(tick: Tick) -> None:
    """Roll touched tasks up; a task that ends releases or fails its successors, and so on.

    Works in rounds: each round reads its tasks fresh, so a successor moved in one round is rolled
    up from its new counters in the next.
    """
    pending = set(tick.touched)
    tick.touched.clear()
    jobs: set[int] = set()
    while pending:
        rows = scheduling.task_rows(tick.conn, sorted(pending))
        pending = set()
        for row in rows:
            state = roll_up({s: row._mapping[col] for s, col in COUNTER.items()})
            if state.value == row.state:
                continue
            scheduling.set_task_state(tick.conn, row.pk, state, tick.now if state in TERMINAL else None)
            jobs.add(row.job_pk)
            if state in TERMINAL:
                tick.runtimes.forget(row.pk)
                pending.update(_resolve_successors(tick, row.pk, row.job_pk))
    for job_pk in jobs:
        roll_up_job(tick, job_pk)


def _resolve_successors(tick: Tick, task_pk: int, job_pk: int) -> list[int]:
    depend_on = scheduling.job_of(tick.conn, job_pk).depend_on
    changed = []
    for successor in scheduling.successors(tick.conn, task_pk):
        preds = [
            Predecessor(p.name, State(p.state), p.n_succeed)
            for p in scheduling.predecessors(tick.conn, successor)
        ]
        ready, culprit = blocking(preds, depend_on)
        if not ready:
            continue
        if culprit is None:
            scheduling.move_all(tick.conn, successor, State.PENDING, State.RUNNABLE, {})
        else:
            reason = f"Not run: predecessor task `{culprit.name}` ended {culprit.state.value} ({depend_on})."
            values = {"reason": reason, "end_time": tick.now}
            scheduling.move_all(tick.conn, successor, State.PENDING, State.FAILED, values)
        changed.append(successor)
    return changed


def roll_up_job(tick: Tick, job_pk: int) -> None:
    job = scheduling.job_of(tick.conn, job_pk)
    state = roll_up(scheduling.task_state_counts(tick.conn, job_pk))
    reason = job.state_reason
    if state in FAILED_STATES and not reason:
        reason = f"Task `{scheduling.first_failed_task(tick.conn, job_pk)}` ended {state.value}."
    scheduling.set_job_state(tick.conn, job_pk, state, tick.now if state in TERMINAL else None, reason)
