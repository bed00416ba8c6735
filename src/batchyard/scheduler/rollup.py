"""Roll-ups and dependencies: after instances move, tasks and jobs follow, and successors start or fail.

Every step reads and writes all of its tasks or jobs at once: a tick that ends hundreds of jobs
holds the write lock for a few statements per round, not a few per job (per-job statements were
most of a busy tick, and every SubmitJob waited for them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from batchyard.domain.dependencies import Predecessor, blocking
from batchyard.domain.states import FAILED_STATES, TERMINAL, State, roll_up
from batchyard.scheduler import waiting
from batchyard.scheduler.fleet import env_pool
from batchyard.scheduler.tick import Tick
from batchyard.store import scheduling
from batchyard.store.quota import add_unfinished, unfinished_delta
from batchyard.store.scheduling import JobState
from batchyard.store.tables import COUNTER


def roll_up_touched(tick: Tick) -> None:
    """Roll touched tasks up; a task that ends releases or fails its successors, and so on.

    Works in rounds: each round reads its tasks fresh, so a successor moved in one round is rolled
    up from its new counters in the next.
    """
    pending = set(tick.touched)
    tick.touched.clear()
    jobs: set[int] = set()
    while pending:
        moved = _roll_up_tasks(tick, pending)
        jobs.update(row.job_pk for row, _ in moved)
        ended = [row for row, state in moved if state in TERMINAL]
        for row in ended:
            runtime = tick.runtimes.forget(row.pk)
            if runtime is not None:
                tick.fleet.forget_task(env_pool(runtime.env_pk, row.pk), row.pk)
        pending = _resolve_successors(tick, ended)
    if jobs:
        _roll_up_jobs(tick, sorted(jobs))


def _roll_up_tasks(tick: Tick, task_pks: Iterable[int]) -> list[tuple[Any, State]]:
    """Move every task whose counters now roll up to another state; returns (task row, new state)."""
    moved = []
    for row in scheduling.task_rows(tick.conn, sorted(task_pks)):
        state = roll_up({s: row._mapping[col] for s, col in COUNTER.items()})
        if state.value != row.state:
            moved.append((row, state))
        if not (row.n_pending or row.n_runnable):  # nothing waits: nothing to explain
            tick.reasons.say(row.pk, row.wait_reason, "")
    ends = [(row.pk, state, tick.now if state in TERMINAL else None) for row, state in moved]
    scheduling.set_task_states(tick.conn, ends)
    tick.notices.tasks_moved(moved)
    return moved


def _resolve_successors(tick: Tick, ended: Sequence[Any]) -> set[int]:
    """Release or fail the successors of tasks that just ended; returns those whose instances moved.

    Decided after the whole round is stored, so a successor of two tasks that ended together is
    decided once, from both.
    """
    edges = scheduling.successors(tick.conn, [(row.job_pk, row.pk) for row in ended])
    job_of_task = {row.pk: row.job_pk for row in ended}
    successors = sorted({(end, job_of_task[start]) for start, end in edges})
    depend_on = {job_pk: scheduling.job_of(tick.conn, job_pk).depend_on for _, job_pk in successors}
    return {task_pk for task_pk, job_pk in successors if _resolve(tick, task_pk, depend_on[job_pk])}


def _resolve(tick: Tick, task_pk: int, depend_on: str) -> bool:
    """Start or fail a waiting task once its predecessors allow; False while they do not yet."""
    preds = [
        Predecessor(p.name, State(p.state), p.n_succeed) for p in scheduling.predecessors(tick.conn, task_pk)
    ]
    ready, culprit = blocking(preds, depend_on)
    if not ready:
        waiting.still_pending(tick, task_pk, depend_on, preds)
        return False
    if culprit is None:
        tick.move_all(task_pk, State.PENDING, State.RUNNABLE, {"runnable_time": tick.now})
        tick.reasons.unexplain(tick.conn, [task_pk])
    else:
        reason = f"Not run: predecessor task `{culprit.name}` ended {culprit.state.value} ({depend_on})."
        values = {"reason": reason, "end_time": tick.now}
        tick.move_all(task_pk, State.PENDING, State.FAILED, values)
    return True


def _roll_up_jobs(tick: Tick, job_pks: Sequence[int]) -> None:
    """Jobs follow their tasks, and the job quota's counts follow the jobs that end or restart."""
    counts = scheduling.task_state_counts(tick.conn, job_pks)
    states, unfinished = [], Counter[tuple[str, str]]()
    for job in scheduling.job_rows(tick.conn, job_pks):
        state = roll_up(counts[job.pk])
        reason = job.state_reason
        if state in FAILED_STATES and not reason:
            reason = f"Task `{scheduling.first_failed_task(tick.conn, job.pk)}` ended {state.value}."
        states.append(JobState(job.pk, state, tick.now if state in TERMINAL else None, reason))
        unfinished[(job.account, job.region)] += unfinished_delta(job.state, state.value)
        if state.value != job.state:
            tick.notices.job_moved(job.pk, State(job.state), state)
    scheduling.set_job_states(tick.conn, states)
    add_unfinished(tick.conn, unfinished)
