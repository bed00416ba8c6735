"""Writes the API makes on existing jobs: recording intents for the scheduler, and deleting jobs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, delete, exists, func, insert, select

from batchyard.domain.intents import Intent
from batchyard.domain.states import State
from batchyard.store.high_water import ATTEMPTS, raise_high_water
from batchyard.store.tables import attempts, instances, intents, jobs, tasks


def record_intent(
    conn: Connection,
    kind: Intent,
    job_pk: int,
    now: float,
    task_pk: int | None = None,
    idx: int | None = None,
) -> None:
    conn.execute(
        insert(intents).values(kind=kind.value, job_pk=job_pk, task_pk=task_pk, idx=idx, create_time=now)
    )


def has_pending_intent(conn: Connection, job_pk: int) -> bool:
    return bool(conn.scalar(select(exists().where(intents.c.job_pk == job_pk))))


def has_instances_in(conn: Connection, job_pk: int, states: Sequence[State]) -> bool:
    query = exists().where(
        instances.c.task_pk == tasks.c.pk,
        tasks.c.job_pk == job_pk,
        instances.c.state.in_([s.value for s in states]),
    )
    return bool(conn.scalar(select(query)))


def delete_job(conn: Connection, job_pk: int) -> None:
    """Delete a job and, by cascade, its tasks, edges, instances and attempts; the attempt numbers it
    used stay used (``high_water``)."""
    raise_high_water(conn, ATTEMPTS, int(conn.scalar(select(func.max(attempts.c.pk))) or 0))
    conn.execute(delete(jobs).where(jobs.c.pk == job_pk))
