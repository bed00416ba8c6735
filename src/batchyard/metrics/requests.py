"""API requests: how many, by Action and by the code they were answered with, and how long they took."""

from __future__ import annotations

from collections.abc import Collection

from prometheus_client import CollectorRegistry, Counter, Histogram

OK = "OK"  # the code of a request that succeeded; every other code is an ApiError's, from the code table
UNKNOWN_ACTION = "unknown"  # an Action not in the table, or a request refused before its Action was known
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class RequestMetrics:
    """Labels are bounded: Actions come from the table the server answers, codes from the error table."""

    def __init__(self, registry: CollectorRegistry, actions: Collection[str]) -> None:
        self._actions = frozenset(actions)
        self._requests = Counter(
            "batchyard_api_requests",
            "API requests answered, by Action and by the code of the reply (OK: it succeeded).",
            ["action", "code"],
            registry=registry,
        )
        self._seconds = Histogram(
            "batchyard_api_request_duration_seconds",
            "Time from a request's arrival to its reply being ready, by Action.",
            ["action"],
            buckets=_BUCKETS,
            registry=registry,
        )

    def observe(self, action: str, code: str, seconds: float) -> None:
        label = action if action in self._actions else UNKNOWN_ACTION
        self._requests.labels(label, code).inc()
        self._seconds.labels(label).observe(seconds)
