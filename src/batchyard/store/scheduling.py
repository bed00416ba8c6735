"""The scheduler's writes: batched instance moves with their counters, attempts, roll-ups.

Every function takes the open transaction, so a tick's moves, counters and attempts commit
together or not at all. Moves are trusted to be legal here: the scheduler checked them against
the state machine before calling.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    ClauseElement,
    Connection,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.sql.compiler import SQLCompiler

from batchyard.domain.states import FAILED_STATES, State
from batchyard.store.high_water import ATTEMPTS, high_water_mark
from batchyard.store.tables import (
    COUNTER,
    UNEXPLAINED,
    attempts,
    compute_envs,
    dependences,
    instances,
    intents,
    jobs,
    tasks,
)


class Move(NamedTuple):
    """One instance's state change and the columns it sets; a tuple, as ticks make thousands."""

    task_pk: int
    idx: int
    source: State
    target: State
    values: dict[str, Any]


class Bulk:
    """A statement the scheduler runs with many rows on every tick, handed to the driver as is.

    Compiled once per dialect; the rows go to the DBAPI's ``executemany`` in the compiled order,
    skipping SQLAlchemy's per-row parameter processing, which these plain integer, float and string
    columns do not need. That processing was most of a tick's Python work.
    """

    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None]] = {}

    def run(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        found = self._compiled.get(conn.dialect.name)
        if found is None:
            compiled = cast(SQLCompiler, self._statement.compile(dialect=conn.dialect))
            names = tuple(compiled.positiontup or ()) if compiled.positional else None
            found = self._compiled[conn.dialect.name] = (compiled.string, names)
        sql, names = found
        if names is None:
            conn.exec_driver_sql(sql, [dict(row) for row in rows])
        else:
            conn.exec_driver_sql(sql, [tuple(row[name] for name in names) for row in rows])


def apply_moves(conn: Connection, moves: Sequence[Move]) -> None:
    """Write instance moves grouped by the set of columns they change, then the task counters."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    deltas: Counter[tuple[int, State]] = Counter()
    for move in moves:
        groups[tuple(move.values)].append(
            {
                "b_task": move.task_pk,
                "b_idx": move.idx,
                "b_source": move.source.value,
                "state": move.target.value,
                **move.values,
            }
        )
        deltas[(move.task_pk, move.source)] -= 1
        deltas[(move.task_pk, move.target)] += 1
    for columns, rows in groups.items():
        _instance_update(columns).run(conn, rows)
    add_to_counters(conn, deltas)


@cache
def _instance_update(columns: tuple[str, ...]) -> Bulk:
    """One statement per column set, built once: the scheduler runs these on every tick."""
    return Bulk(
        update(instances)
        .where(
            instances.c.task_pk == bindparam("b_task"),
            instances.c.idx == bindparam("b_idx"),
            instances.c.state == bindparam("b_source"),
        )
        .values({"state": bindparam("state"), **{c: bindparam(c) for c in columns}})
    )


@cache
def _attempt_update(columns: tuple[str, ...]) -> Bulk:
    return Bulk(
        update(attempts).where(attempts.c.pk == bindparam("b_pk")).values({c: bindparam(c) for c in columns})
    )


_COUNTER_UPDATE = Bulk(
    update(tasks)
    .where(tasks.c.pk == bindparam("b_pk"))
    .values({col: tasks.c[col] + bindparam(f"d_{col}") for col in COUNTER.values()})
)


def add_to_counters(conn: Connection, deltas: Counter[tuple[int, State]]) -> None:
    per_task: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTER.values(), 0))
    for (task_pk, state), delta in deltas.items():
        per_task[task_pk][COUNTER[state]] += delta
    if not per_task:
        return
    _COUNTER_UPDATE.run(
        conn, [{"b_pk": pk, **{f"d_{c}": d for c, d in cols.items()}} for pk, cols in per_task.items()]
    )


def move_all(conn: Connection, task_pk: int, source: State, target: State, values: dict[str, Any]) -> int:
    """Move every instance of a task in ``source`` at once (dependency release or failure)."""
    result = conn.execute(
        update(instances)
        .where(instances.c.task_pk == task_pk, instances.c.state == source.value)
        .values(state=target.value, **values)
    )
    moved = result.rowcount
    if moved:
        add_to_counters(conn, Counter({(task_pk, source): -moved, (task_pk, target): moved}))
    return moved


NEW_ATTEMPT_COLUMNS = ("pk", "task_pk", "idx", "number", "node_instance_id", "state", "launch_time", "reason")
_INSERT_ATTEMPT = Bulk(insert(attempts).values({c: bindparam(c) for c in NEW_ATTEMPT_COLUMNS}))


def insert_attempts(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert attempts whose primary keys the scheduler chose (see ``last_attempt_pk``).

    Each row has exactly ``NEW_ATTEMPT_COLUMNS``.
    """
    if rows:
        _INSERT_ATTEMPT.run(conn, rows)


def last_attempt_pk(conn: Connection) -> int:
    """The scheduler is the only writer of attempts, so it numbers new ones itself from here.

    That keeps the insert a plain batch, with no per-row key returned. Numbers of deleted jobs'
    attempts count too: an attempt number names one attempt for ever.
    """
    used = conn.scalar(select(func.coalesce(func.max(attempts.c.pk), 0))) or 0
    return max(used, high_water_mark(conn, ATTEMPTS))


def update_attempts(conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(row)].append(row)
    for columns, group in groups.items():
        _attempt_update(tuple(c for c in columns if c != "b_pk")).run(conn, group)


def active_attempts(conn: Connection) -> list[Any]:
    """Attempts not yet ended, with what is needed to rebuild their launch specs."""
    return list(
        conn.execute(
            select(
                attempts.c.pk,
                attempts.c.task_pk,
                attempts.c.idx,
                attempts.c.number,
                attempts.c.state,
                attempts.c.launch_time,
                attempts.c.running_time,
                attempts.c.cancel_reason,
                attempts.c.handle,
                attempts.c.node_instance_id,
            )
            .where(attempts.c.end_time.is_(None))
            .order_by(attempts.c.pk)
        )
    )


_TASK_ROWS = select(
    tasks.c.pk,
    tasks.c.job_pk,
    tasks.c.state,
    tasks.c.wait_reason,
    *(tasks.c[col] for col in COUNTER.values()),
).where(tasks.c.pk.in_(bindparam("pks", expanding=True)))


def task_rows(conn: Connection, task_pks: Iterable[int]) -> list[Any]:
    """What a roll-up needs of each task: its state, counters and waiting reason (not its spec)."""
    return list(conn.execute(_TASK_ROWS, {"pks": list(task_pks)}))


_TASK_RUNTIME_ROWS = (
    select(
        tasks.c.pk,
        tasks.c.name,
        tasks.c.seq,
        tasks.c.instance_num,
        tasks.c.spec,
        tasks.c.job_pk,
        tasks.c.env_pk,
        compute_envs.c.env_id,
        jobs.c.job_id,
        jobs.c.priority,
        jobs.c.submit_info["Job"]["StateIfCreateCvmFailed"].as_string().label("if_node_fails"),
    )
    .join(jobs, jobs.c.pk == tasks.c.job_pk)
    .outerjoin(compute_envs, compute_envs.c.pk == tasks.c.env_pk)
    .where(tasks.c.pk.in_(bindparam("pks", expanding=True)))
)


def task_runtime_rows(conn: Connection, task_pks: Sequence[int]) -> list[Any]:
    """What launching instances of each task needs, for all of a tick's new tasks in one read."""
    return list(conn.execute(_TASK_RUNTIME_ROWS, {"pks": list(task_pks)}))


_SET_TASK_STATE = Bulk(
    update(tasks)
    .where(tasks.c.pk == bindparam("b_pk"))
    .values(state=bindparam("state"), end_time=bindparam("end_time"))
)


def set_task_states(conn: Connection, rows: Sequence[tuple[int, State, float | None]]) -> None:
    """(task_pk, state, end_time) for every task a roll-up round moved, in one batch."""
    if rows:
        _SET_TASK_STATE.run(conn, [{"b_pk": pk, "state": s.value, "end_time": end} for pk, s, end in rows])


_SUCCESSORS = select(dependences.c.start_task_pk, dependences.c.end_task_pk).where(
    dependences.c.job_pk.in_(bindparam("job_pks", expanding=True)),
    dependences.c.start_task_pk.in_(bindparam("task_pks", expanding=True)),
)


def successors(conn: Connection, ended: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Edges (task, successor) leaving the given (job_pk, task_pk) tasks, found through the job index."""
    ended = list(ended)
    if not ended:
        return []
    params = {"job_pks": sorted({j for j, _ in ended}), "task_pks": sorted({t for _, t in ended})}
    return [(a, b) for a, b in conn.execute(_SUCCESSORS, params)]


def predecessors(conn: Connection, task_pk: int) -> list[Any]:
    return list(
        conn.execute(
            select(tasks.c.name, tasks.c.state, tasks.c.n_succeed)
            .join(dependences, dependences.c.start_task_pk == tasks.c.pk)
            .where(dependences.c.end_task_pk == task_pk)
        )
    )


def job_of(conn: Connection, job_pk: int) -> Any:
    return conn.execute(
        select(jobs.c.pk, jobs.c.state, jobs.c.depend_on, jobs.c.state_reason).where(jobs.c.pk == job_pk)
    ).one()


def first_failed_task(conn: Connection, job_pk: int) -> str | None:
    return conn.scalar(
        select(tasks.c.name)
        .where(tasks.c.job_pk == job_pk, tasks.c.state.in_([s.value for s in FAILED_STATES]))
        .order_by(tasks.c.seq)
        .limit(1)
    )


_JOB_ROWS = select(jobs.c.pk, jobs.c.state, jobs.c.state_reason, jobs.c.account, jobs.c.region).where(
    jobs.c.pk.in_(bindparam("pks", expanding=True))
)
_TASK_STATE_COUNTS = (
    select(tasks.c.job_pk, tasks.c.state, func.count())
    .where(tasks.c.job_pk.in_(bindparam("pks", expanding=True)))
    .group_by(tasks.c.job_pk, tasks.c.state)
)


def job_rows(conn: Connection, job_pks: Sequence[int]) -> list[Any]:
    """What a job roll-up needs of each job: its state, its reason and the scope its quota counts in."""
    return list(conn.execute(_JOB_ROWS, {"pks": list(job_pks)}))


def task_state_counts(conn: Connection, job_pks: Sequence[int]) -> dict[int, dict[State, int]]:
    """How many tasks of each job are in each state, for all the jobs in one read."""
    counts: dict[int, dict[State, int]] = defaultdict(dict)
    for job_pk, state, n in conn.execute(_TASK_STATE_COUNTS, {"pks": list(job_pks)}):
        counts[job_pk][State(state)] = n
    return counts


_SET_JOB_STATE = Bulk(
    update(jobs)
    .where(jobs.c.pk == bindparam("b_pk"))
    .values(state=bindparam("state"), end_time=bindparam("end_time"), state_reason=bindparam("state_reason"))
)


class JobState(NamedTuple):
    job_pk: int
    state: State
    end_time: float | None
    reason: str


def set_job_states(conn: Connection, rows: Sequence[JobState]) -> None:
    if rows:
        _SET_JOB_STATE.run(
            conn,
            [
                {"b_pk": r.job_pk, "state": r.state.value, "end_time": r.end_time, "state_reason": r.reason}
                for r in rows
            ],
        )


# The next ones run on every tick that has idle nodes: built once, they skip SQLAlchemy's statement
# building and cache-key work on each call.
_CANDIDATE_COLUMNS = (
    tasks.c.pk,
    tasks.c.n_runnable,
    tasks.c.n_starting,
    tasks.c.n_running,
    tasks.c.wait_reason,
)
_CANDIDATE_ORDER = (jobs.c.priority.desc(), jobs.c.pk, tasks.c.seq)
_ENV_CANDIDATES = (
    select(*_CANDIDATE_COLUMNS)
    .join(jobs, jobs.c.pk == tasks.c.job_pk)
    .where(tasks.c.env_pk == bindparam("env_pk"), tasks.c.n_runnable > 0)
    .order_by(*_CANDIDATE_ORDER)
    .limit(bindparam("limit"))
)
_ANONYMOUS_CANDIDATES = (
    select(*_CANDIDATE_COLUMNS)
    .join(jobs, jobs.c.pk == tasks.c.job_pk)
    .where(tasks.c.env_pk.is_(None), tasks.c.n_runnable > 0)
    .order_by(*_CANDIDATE_ORDER)
    .limit(bindparam("limit"))
)
_RUNNABLE_INSTANCES = (
    select(instances.c.idx, instances.c.attempts, instances.c.runnable_time)
    .where(and_(instances.c.task_pk == bindparam("task_pk"), instances.c.state == State.RUNNABLE.value))
    .order_by(instances.c.idx)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)


_ENVS_WITH_RUNNABLE = (
    select(tasks.c.env_pk).where(tasks.c.n_runnable > 0, tasks.c.env_pk.is_not(None)).distinct()
)


def envs_with_runnable(conn: Connection) -> set[int]:
    """Named environments that have runnable instances: one scan of the runnable tasks' index, so a
    tick asks for candidates only where there are some."""
    return set(conn.scalars(_ENVS_WITH_RUNNABLE))


def dispatch_candidates(conn: Connection, env_pk: int | None, limit: int) -> list[Any]:
    """Tasks with runnable instances in one environment (None: anonymous ones), in dispatch order:
    priority, then first submitted first."""
    if env_pk is None:
        return list(conn.execute(_ANONYMOUS_CANDIDATES, {"limit": limit}))
    return list(conn.execute(_ENV_CANDIDATES, {"env_pk": env_pk, "limit": limit}))


def runnable_instances(conn: Connection, task_pk: int, limit: int, offset: int = 0) -> list[Any]:
    """(idx, attempts, runnable_time) of ``limit`` runnable instances of a task, lowest index first after
    ``offset``."""
    return list(conn.execute(_RUNNABLE_INSTANCES, {"task_pk": task_pk, "limit": limit, "offset": offset}))


# Requests recorded by the API ------------------------------------------------------------------


def pending_intents(conn: Connection) -> list[Any]:
    return list(conn.execute(select(intents).order_by(intents.c.pk)))


def delete_intents(conn: Connection, pks: Sequence[int]) -> None:
    if pks:
        conn.execute(delete(intents).where(intents.c.pk.in_(list(pks))))


def job_edges(conn: Connection, job_pk: int) -> list[tuple[int, int]]:
    rows = conn.execute(
        select(dependences.c.start_task_pk, dependences.c.end_task_pk).where(dependences.c.job_pk == job_pk)
    )
    return [(a, b) for a, b in rows]


def instance_state(conn: Connection, task_pk: int, idx: int) -> State | None:
    state = conn.scalar(
        select(instances.c.state).where(instances.c.task_pk == task_pk, instances.c.idx == idx)
    )
    return None if state is None else State(state)


def indexes_in_state(conn: Connection, task_pk: int, state: State) -> list[int]:
    return list(
        conn.scalars(
            select(instances.c.idx).where(instances.c.task_pk == task_pk, instances.c.state == state.value)
        )
    )


def held_instances(conn: Connection) -> list[Any]:
    """FAILED_INTERRUPTED instances, which keep their node until terminated or retried."""
    return list(
        conn.execute(
            select(instances.c.task_pk, instances.c.idx, instances.c.node_instance_id).where(
                instances.c.state == State.FAILED_INTERRUPTED.value
            )
        )
    )


# Waiting reasons ---------------------------------------------------------------------------------

_UNEXPLAINED_TASKS = (
    select(
        tasks.c.pk,
        tasks.c.job_pk,
        tasks.c.env_pk,
        tasks.c.n_pending,
        tasks.c.n_runnable,
        jobs.c.depend_on,
    )
    .join(jobs, jobs.c.pk == tasks.c.job_pk)
    .where(text(UNEXPLAINED))
)


def unexplained_tasks(conn: Connection) -> list[Any]:
    """Waiting tasks whose reason nobody has said yet (new, released or retried), through their partial
    index: a tick asks every time, and the answer is almost always empty."""
    return list(conn.execute(_UNEXPLAINED_TASKS))


_PREDECESSORS_OF = (
    select(dependences.c.end_task_pk, tasks.c.name, tasks.c.state)
    .join(tasks, tasks.c.pk == dependences.c.start_task_pk)
    .where(
        dependences.c.job_pk.in_(bindparam("job_pks", expanding=True)),
        dependences.c.end_task_pk.in_(bindparam("task_pks", expanding=True)),
    )
    .order_by(tasks.c.seq)
)


def predecessors_of(conn: Connection, tasks_of_jobs: Sequence[tuple[int, int]]) -> list[Any]:
    """(end_task_pk, name, state) of the predecessors of the given (job_pk, task_pk) tasks, in task order,
    found through the job index."""
    if not tasks_of_jobs:
        return []
    job_pks, task_pks = sorted({j for j, _ in tasks_of_jobs}), sorted({t for _, t in tasks_of_jobs})
    return list(conn.execute(_PREDECESSORS_OF, {"job_pks": job_pks, "task_pks": task_pks}))


_SET_WAIT_REASON = Bulk(
    update(tasks).where(tasks.c.pk == bindparam("b_pk")).values(wait_reason=bindparam("wait_reason"))
)


def set_wait_reasons(conn: Connection, reasons: Mapping[int, str | None]) -> None:
    """Each task's new waiting reason (None: to be said again by the next tick), in one batch."""
    if reasons:
        _SET_WAIT_REASON.run(conn, [{"b_pk": pk, "wait_reason": r} for pk, r in reasons.items()])


def set_reason(conn: Connection, task_pk: int, state: State, reason: str) -> None:
    """Say why every instance of a task in ``state`` waits (one statement, once per cause)."""
    conn.execute(
        update(instances)
        .where(instances.c.task_pk == task_pk, instances.c.state == state.value)
        .values(reason=reason)
    )


def mark_cancelled(conn: Connection, attempt_pks: Sequence[int], reason: str) -> None:
    if attempt_pks:
        conn.execute(
            update(attempts).where(attempts.c.pk.in_(list(attempt_pks))).values(cancel_reason=reason)
        )


def set_job_reason(conn: Connection, job_pk: int, reason: str) -> None:
    conn.execute(update(jobs).where(jobs.c.pk == job_pk).values(state_reason=reason))
