"""The scheduler's work: how long its ticks take, how attempts end, how long instances wait.

A tick tallies what it sees as it goes; the tally is recorded only once the tick has committed,
because a tick that fails is rolled back and its events applied again by the next one.
"""

from __future__ import annotations

from collections import Counter as Tally
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram

from batchyard.domain.attempts import Failure

_TICK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400)
_START_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


@dataclass
class TickTally:
    """What one tick saw: attempts ended by failure class, and the waits of instances it moved."""

    ended: Tally[Failure] = field(default_factory=Tally)
    queue_waits: list[float] = field(default_factory=list)  # RUNNABLE until dispatched
    start_delays: list[float] = field(default_factory=list)  # dispatched until the command started


class SchedulerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        """``registry``: the server's; None gives these metrics a registry nobody scrapes (tests)."""
        registry = CollectorRegistry() if registry is None else registry
        self._tick = Histogram(
            "batchyard_scheduler_tick_duration_seconds",
            "Time a scheduler tick takes: its transaction, then handing its work to the executor.",
            buckets=_TICK_BUCKETS,
            registry=registry,
        )
        self._ended = Counter(
            "batchyard_attempts_ended",
            "Attempts that ended, by failure class (NONE: succeeded; USER, SYSTEM, UNRUNNABLE).",
            ["failure_class"],
            registry=registry,
        )
        self._queue_wait = Histogram(
            "batchyard_queue_wait_seconds",
            "Time an instance waited RUNNABLE before it was dispatched to a node.",
            buckets=_WAIT_BUCKETS,
            registry=registry,
        )
        self._dispatch_latency = Histogram(
            "batchyard_dispatch_latency_seconds",
            "Time from an attempt's dispatch (its LaunchTime) until its command started: making its node, "
            "waiting behind the attempt its node runs, and the executor's start.",
            buckets=_START_BUCKETS,
            registry=registry,
        )
        for failure in Failure:
            self._ended.labels(failure.value)

    def tick_took(self, seconds: float) -> None:
        self._tick.observe(seconds)

    def record(self, tally: TickTally) -> None:
        """A committed tick's tally."""
        for failure, n in tally.ended.items():
            self._ended.labels(failure.value).inc(n)
        for wait in tally.queue_waits:
            self._queue_wait.observe(max(0.0, wait))
        for delay in tally.start_delays:
            self._dispatch_latency.observe(max(0.0, delay))
