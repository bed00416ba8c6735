"""What jobs and environments asked to be told: written by the API with them, read by the scheduler.

The scheduler keeps them in memory (``scheduler/watches.py``) and learns of new ones by reading the
rows after the last it saw, one indexed read per tick that finds nothing while nobody subscribes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, or_, select

from batchyard.domain.notifications import Subscription
from batchyard.domain.states import State
from batchyard.store.tables import compute_envs, jobs, subscriptions, tasks

_COLUMNS = (
    subscriptions.c.pk,
    subscriptions.c.job_pk,
    subscriptions.c.env_pk,
    subscriptions.c.topic,
    subscriptions.c.event,
    subscriptions.c.event_vars,
)
_AFTER = select(*_COLUMNS).where(subscriptions.c.pk > bindparam("pk")).order_by(subscriptions.c.pk)
_FINISHED = [State.SUCCEED.value, State.FAILED.value]
# Environments' and unfinished jobs' (a finished job changes no more unless retried).
_LIVE = (
    select(*_COLUMNS)
    .outerjoin(jobs, jobs.c.pk == subscriptions.c.job_pk)
    .where(or_(subscriptions.c.env_pk.is_not(None), jobs.c.state.not_in(_FINISHED)))
    .order_by(subscriptions.c.pk)
)
_OF_JOBS = select(*_COLUMNS).where(subscriptions.c.job_pk.in_(bindparam("pks", expanding=True)))
_LAST = select(func.coalesce(func.max(subscriptions.c.pk), 0))
_JOBS = select(jobs.c.pk, jobs.c.job_id, jobs.c.name, jobs.c.region).where(
    jobs.c.pk.in_(bindparam("pks", expanding=True))
)
_TASKS = select(tasks.c.pk, tasks.c.job_pk, tasks.c.name).where(
    tasks.c.job_pk.in_(bindparam("pks", expanding=True))
)
_ENVS = select(compute_envs.c.pk, compute_envs.c.env_id, compute_envs.c.name, compute_envs.c.region).where(
    compute_envs.c.pk.in_(bindparam("pks", expanding=True))
)


def subscribe(
    conn: Connection, wanted: Sequence[Subscription], job_pk: int | None = None, env_pk: int | None = None
) -> None:
    """In the transaction that writes the job or the environment, so neither exists without them."""
    if wanted:
        rows = [
            {
                "job_pk": job_pk,
                "env_pk": env_pk,
                "topic": s.topic,
                "event": s.event,
                "event_vars": json.dumps(s.vars_json()),
            }
            for s in wanted
        ]
        conn.execute(insert(subscriptions), rows)


def after(conn: Connection, pk: int) -> list[Any]:
    return list(conn.execute(_AFTER, {"pk": pk}))


def live(conn: Connection) -> list[Any]:
    return list(conn.execute(_LIVE))


def of_jobs(conn: Connection, job_pks: Iterable[int]) -> list[Any]:
    return list(conn.execute(_OF_JOBS, {"pks": sorted(set(job_pks))}))


def last_pk(conn: Connection) -> int:
    return int(conn.scalar(_LAST) or 0)


def job_rows(conn: Connection, job_pks: Iterable[int]) -> list[Any]:
    return list(conn.execute(_JOBS, {"pks": sorted(set(job_pks))}))


def task_names(conn: Connection, job_pks: Iterable[int]) -> list[Any]:
    return list(conn.execute(_TASKS, {"pks": sorted(set(job_pks))}))


def env_rows(conn: Connection, env_pks: Iterable[int]) -> list[Any]:
    return list(conn.execute(_ENVS, {"pks": sorted(set(env_pks))}))
