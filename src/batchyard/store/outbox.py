"""The transactional outbox: events written with the change they tell, read and removed by the delivery.

The scheduler and the API add rows in the transaction of the change (STYLE rule 6), so an event is
stored exactly when its change is, and delivered after a crash as before one. The delivery reads the
rows of one topic that are due, and removes those delivered or reschedules those that failed, in
transactions of its own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, literal, select

from batchyard.domain.states import State
from batchyard.store.scheduling import Bulk
from batchyard.store.tables import instances, outbox

COLUMNS = (
    "topic",
    "event",
    "event_time",
    "region",
    "batch",
    "idx",
    "event_vars",
    "attempts",
    "due_time",
    "last_error",
)
_INSERT = Bulk(insert(outbox).values({c: bindparam(c) for c in COLUMNS}))
_DUE = (
    select(
        outbox.c.pk,
        outbox.c.event,
        outbox.c.event_time,
        outbox.c.region,
        outbox.c.batch,
        outbox.c.idx,
        outbox.c.event_vars,
        outbox.c.attempts,
    )
    .where(outbox.c.topic == bindparam("topic"), outbox.c.due_time <= bindparam("now"))
    .order_by(outbox.c.due_time, outbox.c.pk)
    .limit(bindparam("limit"))
)
_NEXT_DUE = select(func.min(outbox.c.due_time)).where(outbox.c.topic == bindparam("topic"))
_RESCHEDULE = Bulk(
    outbox.update()
    .where(outbox.c.pk == bindparam("b_pk"))
    .values(
        attempts=bindparam("attempts"), due_time=bindparam("due_time"), last_error=bindparam("last_error")
    )
)
_BY_TOPIC = select(outbox.c.topic, func.count()).group_by(outbox.c.topic)


@dataclass(frozen=True)
class Event:
    """One event to store for one topic; ``idx`` is the TaskInstanceIndex of an instance event."""

    topic: str
    event: str
    event_time: float
    region: str
    batch: dict[str, Any]
    event_vars: list[dict[str, str]]
    idx: int | None = None

    def row(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "event": self.event,
            "event_time": self.event_time,
            "region": self.region,
            "batch": json.dumps(self.batch),
            "idx": self.idx,
            "event_vars": json.dumps(self.event_vars),
            "attempts": 0,
            "due_time": self.event_time,
            "last_error": "",
        }


@dataclass(frozen=True)
class Retry:
    pk: int
    attempts: int
    due_time: float
    error: str


def add(conn: Connection, events: Sequence[Event]) -> None:
    """Many rows in one batch; the scheduler adds a tick's events at once."""
    if events:
        _INSERT.run(conn, [event.row() for event in events])


def add_instances(conn: Connection, event: Event, task_pk: int, source: State) -> int:
    """The event of every instance of a task now in ``source``, each with its index, in one statement:
    called just before those instances move together, so a task of 100,000 costs one statement."""
    row = event.row()
    values = [instances.c.idx if c == "idx" else literal(row[c]) for c in COLUMNS]
    query = (
        select(*values)
        .where(instances.c.task_pk == task_pk, instances.c.state == source.value)
        .order_by(instances.c.idx)
    )
    return conn.execute(insert(outbox).from_select(list(COLUMNS), query)).rowcount


def due(conn: Connection, topic: str, now: float, limit: int) -> list[Any]:
    """A topic's rows due now, the longest due first."""
    return list(conn.execute(_DUE, {"topic": topic, "now": now, "limit": limit}))


def next_due(conn: Connection, topic: str) -> float | None:
    found = conn.scalar(_NEXT_DUE, {"topic": topic})
    return None if found is None else float(found)


def settle(conn: Connection, gone: Sequence[int], retries: Sequence[Retry]) -> None:
    """Remove delivered (or dropped) rows and reschedule failed ones, in the caller's transaction."""
    if gone:
        conn.execute(delete(outbox).where(outbox.c.pk.in_(list(gone))))
    if retries:
        rows = [
            {"b_pk": r.pk, "attempts": r.attempts, "due_time": r.due_time, "last_error": r.error}
            for r in retries
        ]
        _RESCHEDULE.run(conn, rows)


def expire(conn: Connection, before: float) -> dict[str, int]:
    """Drop the rows of events older than ``before``; returns how many of each topic went."""
    old = outbox.c.event_time < before
    counts = {topic: int(n) for topic, n in conn.execute(_BY_TOPIC.where(old))}
    if counts:
        conn.execute(delete(outbox).where(old))
    return counts


def backlog(conn: Connection) -> dict[str, int]:
    """Rows waiting, by topic."""
    return {topic: int(n) for topic, n in conn.execute(_BY_TOPIC)}
