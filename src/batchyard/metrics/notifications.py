"""Notifications: messages delivered, deliveries that failed, events dropped, and the outbox's backlog.

The topic label comes from the server's configuration (and, for events stored before a topic was
removed from it, from the store), so it stays as bounded as the list of topics. The backlog is read
from the store when scraped, as the other gauges of stored state are.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from batchyard.store import outbox
from batchyard.store.database import Database
from batchyard.store.unavailable import StoreUnavailable

log = logging.getLogger(__name__)

DROP_REASONS = ("expired", "unreadable")


class NotificationMetrics:
    def __init__(self, registry: CollectorRegistry | None = None, topics: Collection[str] = ()) -> None:
        """``registry``: the server's; None gives these metrics a registry nobody scrapes (tests)."""
        registry = CollectorRegistry() if registry is None else registry
        self._delivered = Counter(
            "batchyard_notifications_delivered",
            "Notification messages a topic's sink took (HTTP 2xx).",
            ["topic"],
            registry=registry,
        )
        self._failed = Counter(
            "batchyard_notification_deliveries_failed",
            "Deliveries that failed (connection error, timeout, an answer other than 2xx); each is retried.",
            ["topic"],
            registry=registry,
        )
        self._dropped = Counter(
            "batchyard_notifications_dropped",
            "Events given up: undelivered past retain_s (expired), or unreadable as stored.",
            ["topic", "reason"],
            registry=registry,
        )
        for topic in topics:
            self._delivered.labels(topic)
            self._failed.labels(topic)

    def delivered(self, topic: str, n: int) -> None:
        if n:
            self._delivered.labels(topic).inc(n)

    def failed(self, topic: str) -> None:
        self._failed.labels(topic).inc()

    def dropped(self, topic: str, reason: str, n: int) -> None:
        if n:
            self._dropped.labels(topic, reason).inc(n)


class OutboxBacklog:
    """``batchyard_notification_backlog``: events stored and not yet delivered, by topic; left out of a
    scrape that cannot read the store (``batchyard_store_readable`` says so)."""

    def __init__(self, db: Database, topics: Collection[str] = ()) -> None:
        self._db = db
        self._topics = tuple(topics)

    def describe(self) -> list[Metric]:
        return [_family({})]

    def collect(self) -> Iterator[Metric]:
        try:
            with self._db.read() as conn:
                waiting = outbox.backlog(conn)
        except StoreUnavailable as exc:
            log.debug("metrics: the outbox could not be read: %s", exc.cause)
            return
        except Exception:
            log.exception("metrics: reading the outbox's backlog failed")
            return
        yield _family({**dict.fromkeys(self._topics, 0), **waiting})


def _family(waiting: dict[str, int]) -> GaugeMetricFamily:
    backlog = GaugeMetricFamily(
        "batchyard_notification_backlog",
        "Notification events stored and not yet delivered, by topic.",
        labels=["topic"],
    )
    for topic, n in sorted(waiting.items()):
        backlog.add_metric([topic], n)
    return backlog
