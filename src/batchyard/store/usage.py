"""Usage samples of attempts: written by the sampler, read by DescribeJobMonitorData."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from batchyard.domain.attempts import Usage
from batchyard.store.tables import attempts, usage_samples

# Metric -> column; the sampler writes all of them in one row per attempt and look.
COLUMNS = {"cpu": usage_samples.c.cpu, "memory": usage_samples.c.memory, "disk": usage_samples.c.disk}


def insert_samples(conn: Connection, usages: Sequence[Usage]) -> int:
    """Store the samples of attempts that still exist (a job deleted since its look took its attempts
    along); returns how many were stored."""
    known = set(conn.scalars(select(attempts.c.pk).where(attempts.c.pk.in_({u.attempt_pk for u in usages}))))
    rows = [
        {
            "attempt_pk": u.attempt_pk,
            "at": u.at,
            "cpu": u.cpu_percent,
            "memory": u.memory_percent,
            "disk": u.disk_percent,
        }
        for u in usages
        if u.attempt_pk in known
    ]
    if rows:
        conn.execute(insert(usage_samples), rows)
    return len(rows)


def instance_attempts(conn: Connection, task_pk: int, index: int) -> list[Any]:
    """The instance's attempts, first to last, with when each began and ended."""
    query = (
        select(attempts.c.pk, attempts.c.launch_time, attempts.c.end_time)
        .where(attempts.c.task_pk == task_pk, attempts.c.idx == index)
        .order_by(attempts.c.number)
    )
    return list(conn.execute(query))


def samples(
    conn: Connection, attempt_pks: Sequence[int], metric: str, start: float, end: float
) -> list[tuple[float, float | None]]:
    """(time, value) of the attempts' samples between ``start`` and ``end``, in time order."""
    column = COLUMNS[metric]
    query = (
        select(usage_samples.c.at, column)
        .where(usage_samples.c.attempt_pk.in_(attempt_pks), usage_samples.c.at.between(start, end))
        .order_by(usage_samples.c.at)
    )
    return [(float(at), value) for at, value in conn.execute(query)]
