"""The delivery of the outbox: rows of a real SQLite store, sent by the real worker through a real
webhook sink to a real HTTP receiver on loopback. What the API tests cannot arrange: damaged rows,
a row its sink always refuses, events past their retention."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import insert, select

from batchyard.config.settings import NotificationSinks
from batchyard.events.delivery import Deliveries
from batchyard.events.webhook import WebhookSink
from batchyard.metrics.notifications import NotificationMetrics
from batchyard.store import outbox
from batchyard.store.database import Database
from batchyard.store.tables import outbox as outbox_table
from webhooks import Receiver, receiving

pytestmark = pytest.mark.anyio
SETTINGS = NotificationSinks(retry_initial_s=0.05, retry_max_s=0.2, retain_s=3600)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from receiving()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def running(db: Database, receiver: Receiver, registry: CollectorRegistry) -> AsyncIterator[Deliveries]:
    """Deliveries of topic ``ops`` to the receiver, started over what the test stored before."""
    sink = WebhookSink(receiver.url("/ops"), timeout_s=5)
    deliveries = Deliveries(db, {"ops": sink}, SETTINGS, NotificationMetrics(registry, ["ops"]))
    yield deliveries
    await deliveries.stop()


def event(name: str, at: float | None = None) -> outbox.Event:
    return outbox.Event(
        "ops", name, time.time() if at is None else at, "ap-guangzhou", {"EnvId": "env-1"}, []
    )


def store(db: Database, *events: outbox.Event) -> None:
    with db.write() as conn:
        outbox.add(conn, events)


def stored(db: Database) -> list[Any]:
    with db.read() as conn:
        return list(conn.execute(select(outbox_table).order_by(outbox_table.c.pk)))


async def until(predicate: Callable[[], Any], what: str) -> None:
    deadline = time.monotonic() + 5
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.01)


def names(receiver: Receiver) -> list[str]:
    return [e["EventName"] for e in receiver.events("/ops")]


async def test_a_row_that_cannot_be_read_is_dropped_and_the_others_delivered(
    db: Database, receiver: Receiver, registry: CollectorRegistry, running: Deliveries
) -> None:
    store(db, event("COMPUTE_ENV_CREATED"))
    damaged = {**event("COMPUTE_NODE_CREATED").row(), "batch": "{not json"}
    with db.write() as conn:
        conn.execute(insert(outbox_table).values(damaged))
    store(db, event("COMPUTE_ENV_DELETED"))
    await running.start()

    def delivered() -> float | None:
        return registry.get_sample_value("batchyard_notifications_delivered_total", {"topic": "ops"})

    await until(lambda: delivered() == 2 and not stored(db), "the readable rows are delivered and counted")
    assert names(receiver) == ["COMPUTE_ENV_CREATED", "COMPUTE_ENV_DELETED"]
    labels = {"topic": "ops", "reason": "unreadable"}
    assert registry.get_sample_value("batchyard_notifications_dropped_total", labels) == 1


async def test_a_row_its_sink_always_refuses_does_not_hold_back_the_others(
    db: Database, receiver: Receiver, registry: CollectorRegistry, running: Deliveries
) -> None:
    receiver.refuses = lambda delivery: delivery.body["Events"][0]["EventName"] == "COMPUTE_NODE_ABNORMAL"
    store(db, event("COMPUTE_NODE_ABNORMAL"), event("COMPUTE_NODE_CREATED"), event("COMPUTE_NODE_RUNNING"))
    await running.start()
    await until(lambda: len(names(receiver)) == 2, "the two others arrive")
    await until(lambda: receiver.refused >= 3, "the refused one was tried again, and again")
    assert names(receiver) == ["COMPUTE_NODE_CREATED", "COMPUTE_NODE_RUNNING"]
    [left] = stored(db)
    assert (left.event, left.last_error) == (
        "COMPUTE_NODE_ABNORMAL",
        f"{receiver.url('/ops')} answered HTTP 500",
    )
    assert (
        left.attempts >= 2 and left.due_time > left.event_time
    )  # rescheduled (its last try may be unrecorded)
    failed = registry.get_sample_value("batchyard_notification_deliveries_failed_total", {"topic": "ops"})
    assert failed is not None and failed >= 2


async def test_events_undelivered_past_their_retention_are_dropped(
    db: Database, receiver: Receiver, registry: CollectorRegistry, running: Deliveries
) -> None:
    store(
        db, event("COMPUTE_ENV_CREATED", at=time.time() - 2 * SETTINGS.retain_s), event("COMPUTE_ENV_DELETED")
    )
    with db.write() as conn:  # a topic no longer configured: kept until it expires
        outbox.add(conn, [outbox.Event("gone", "COMPUTE_ENV_DELETED", time.time(), "ap-guangzhou", {}, [])])
    await running.start()
    await until(lambda: names(receiver) == ["COMPUTE_ENV_DELETED"], "the fresh event arrives")
    left = [("gone", "COMPUTE_ENV_DELETED")]  # the delivered one is deleted just after its POST
    await until(lambda: [(row.topic, row.event) for row in stored(db)] == left, "only the unsendable is kept")
    labels = {"topic": "ops", "reason": "expired"}
    assert registry.get_sample_value("batchyard_notifications_dropped_total", labels) == 1
