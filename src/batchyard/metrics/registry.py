"""One server's metrics, in a registry of its own (never prometheus_client's global one), so tests and
several servers in one process keep theirs apart."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.exposition import choose_encoder

from batchyard.metrics.notifications import NotificationMetrics, OutboxBacklog
from batchyard.metrics.requests import RequestMetrics
from batchyard.metrics.scheduler import SchedulerMetrics
from batchyard.metrics.stored import StoredState
from batchyard.store.database import Database


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    requests: RequestMetrics
    scheduler: SchedulerMetrics
    notifications: NotificationMetrics

    @classmethod
    def build(cls, db: Database, actions: Collection[str], topics: Collection[str] = ()) -> Metrics:
        """``actions``: the Actions the server answers, the only values of the API's ``action`` label;
        ``topics``: the notification topics it delivers to."""
        registry = CollectorRegistry()
        ProcessCollector(registry=registry)  # process_*: the server's CPU time, memory, open files
        registry.register(StoredState(db))
        registry.register(OutboxBacklog(db, topics))
        return cls(
            registry,
            RequestMetrics(registry, actions),
            SchedulerMetrics(registry),
            NotificationMetrics(registry, topics),
        )


def exposition(registry: CollectorRegistry, accept: str) -> tuple[bytes, str]:
    """The scrape's body and content type, in the format the scraper's Accept header asks for. It reads
    the store: call it off the event loop."""
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type
