"""Reads behind the Describe actions; each one is served by an index of tables.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, bindparam, exists, func, select

from batchyard.store.tables import COUNTER, attempts, dependences, instances, job_tags, jobs, tasks

# The hottest reads are built once; SQLAlchemy then only binds parameters on each call.
_JOB_BY_ID = select(jobs).where(
    jobs.c.job_id == bindparam("job_id"),
    jobs.c.account == bindparam("account"),
    jobs.c.region == bindparam("region"),
)
_TASKS_OF = select(tasks).where(tasks.c.job_pk == bindparam("job_pk")).order_by(tasks.c.seq)
_START, _END = tasks.alias("start_task"), tasks.alias("end_task")
_DEPENDENCES_OF = (
    select(_START.c.name, _END.c.name)
    .select_from(dependences)
    .join(_START, _START.c.pk == dependences.c.start_task_pk)
    .join(_END, _END.c.pk == dependences.c.end_task_pk)
    .where(dependences.c.job_pk == bindparam("job_pk"))
)
_TASK_BY_NAME = select(tasks).where(tasks.c.job_pk == bindparam("job_pk"), tasks.c.name == bindparam("name"))


def job_by_id(conn: Connection, account: str, region: str, job_id: str) -> Any:
    return conn.execute(_JOB_BY_ID, {"job_id": job_id, "account": account, "region": region}).one_or_none()


def tasks_of(conn: Connection, job_pk: int) -> list[Any]:
    return list(conn.execute(_TASKS_OF, {"job_pk": job_pk}))


def tasks_of_jobs(conn: Connection, job_pks: Sequence[int]) -> list[Any]:
    cols = [tasks.c.job_pk, tasks.c.state]
    return list(conn.execute(select(*cols).where(tasks.c.job_pk.in_(list(job_pks)))))


def dependences_of(conn: Connection, job_pk: int) -> list[tuple[str, str]]:
    return [(a, b) for a, b in conn.execute(_DEPENDENCES_OF, {"job_pk": job_pk})]


def task_by_name(conn: Connection, job_pk: int, name: str) -> Any:
    return conn.execute(_TASK_BY_NAME, {"job_pk": job_pk, "name": name}).one_or_none()


def instances_page(
    conn: Connection, task_pk: int, states: Sequence[str] | None, offset: int, limit: int
) -> list[Any]:
    """One page of a task's instances by index.

    Unfiltered, a task's indexes are exactly 0..N-1, so the page starts at ``idx = offset``: a range
    read of ``limit`` rows wherever the page is, instead of skipping ``offset`` rows.
    """
    query = select(instances).where(instances.c.task_pk == task_pk)
    if states is None:
        query = query.where(instances.c.idx >= offset)
    else:
        query = query.where(instances.c.state.in_(list(states))).offset(offset)
    return list(conn.execute(query.order_by(instances.c.idx).limit(limit)))


def instances_by_index(conn: Connection, task_pk: int, indexes: Sequence[int]) -> list[Any]:
    query = select(instances).where(instances.c.task_pk == task_pk, instances.c.idx.in_(list(indexes)))
    return list(conn.execute(query.order_by(instances.c.idx)))


def latest_attempt_pks(conn: Connection, task_pk: int, indexes: Sequence[int]) -> dict[int, int]:
    """The primary key of each instance's latest attempt (instances not started since a retry are absent).

    RetryJobs numbers attempts from 1 again, so among attempts with the instance's current number
    the newest one is meant.
    """
    rows = conn.execute(
        select(instances.c.idx, func.max(attempts.c.pk))
        .join(
            attempts,
            and_(
                attempts.c.task_pk == instances.c.task_pk,
                attempts.c.idx == instances.c.idx,
                attempts.c.number == instances.c.attempts,
            ),
        )
        .where(instances.c.task_pk == task_pk, instances.c.idx.in_(list(indexes)))
        .group_by(instances.c.idx)
    )
    return {idx: pk for idx, pk in rows}


def counters(row: Any) -> dict[str, int]:
    """A task row's per-state counters keyed by state name."""
    return {state.value: row._mapping[col] for state, col in COUNTER.items()}


# Jobs list ------------------------------------------------------------------------------------

JobFilter = ColumnElement[bool]


def filter_job_ids(values: Sequence[str]) -> JobFilter:
    return jobs.c.job_id.in_(list(values))


def filter_job_names(values: Sequence[str]) -> JobFilter:
    return jobs.c.name.in_(list(values))


def filter_job_states(values: Sequence[str]) -> JobFilter:
    return jobs.c.state.in_(list(values))


def filter_zones(values: Sequence[str]) -> JobFilter:
    return jobs.c.zone.in_(list(values))


def filter_tag_keys(values: Sequence[str]) -> JobFilter:
    return exists().where(job_tags.c.job_pk == jobs.c.pk, job_tags.c.key.in_(list(values)))


def filter_tag_values(values: Sequence[str]) -> JobFilter:
    return exists().where(job_tags.c.job_pk == jobs.c.pk, job_tags.c.value.in_(list(values)))


def filter_tag(key: str, values: Sequence[str]) -> JobFilter:
    return exists().where(
        job_tags.c.job_pk == jobs.c.pk, job_tags.c.key == key, job_tags.c.value.in_(list(values))
    )


def page_jobs(
    conn: Connection, account: str, region: str, where: Sequence[JobFilter], offset: int, limit: int
) -> tuple[int, list[Any]]:
    """Newest first, with the total before paging."""
    base: Select[Any] = select(jobs).where(jobs.c.account == account, jobs.c.region == region, *where)
    total = conn.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = list(conn.execute(base.order_by(jobs.c.pk.desc()).offset(offset).limit(limit)))
    return total, rows
