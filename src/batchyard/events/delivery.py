"""Delivering the outbox: one worker per topic, woken when events are stored.

A worker takes its topic's due rows, the longest due first, a batch at a time; sends each as one
message through the topic's sink, in a thread pool of the delivery's own (a slow sink never holds a
thread the scheduler or the API waits for); then, in one transaction, removes what was delivered and
reschedules what failed. A failed row waits ``retry_initial_s``, doubled at each failure up to
``retry_max_s``; the failure also pauses its topic, by the same rule over the topic's failures in a
row, so a sink that is down gets one try per pause, while a row that only its sink refuses does not
hold back the rows behind it. A crash between a POST and the removal sends that message again after
the restart: delivery is at least once, and each message carries its row's number for receivers
that deduplicate.

A row that cannot be read as a message is dropped, and said so in the log; so are rows older than
``retain_s`` (a sink down for a week, a topic no longer configured), by a sweep at start-up and
every ``SWEEP_S``. Nothing here is held in memory beyond one batch per topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from batchyard.config.settings import NotificationSinks
from batchyard.domain.notifications import message
from batchyard.events.webhook import DeliveryFailed
from batchyard.metrics.notifications import NotificationMetrics
from batchyard.store import outbox
from batchyard.store.database import Database
from batchyard.store.unavailable import StoreUnavailable

log = logging.getLogger(__name__)

BATCH: Final = 100  # rows a worker takes at a time
SWEEP_S: Final = 600.0
_ERROR_PAUSE_S: Final = 1.0  # after a failure of the store, or of the worker itself


class Sink(Protocol):
    def post(self, body: bytes, event_id: int) -> None:
        """Deliver one message, or raise ``DeliveryFailed``. Sending one twice is allowed."""

    def close(self) -> None: ...


@dataclass
class Round:
    """What one batch of a topic came to."""

    delivered: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    retry: outbox.Retry | None = None  # the row that failed; the batch stops there


class Deliveries:
    def __init__(
        self,
        db: Database,
        sinks: Mapping[str, Sink],
        settings: NotificationSinks,
        metrics: NotificationMetrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._sinks = dict(sinks)
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._wakeups = {topic: asyncio.Event() for topic in self._sinks}
        self._stop = asyncio.Event()
        self._stopping = False  # read by the pool's threads between messages
        self._pool = ThreadPoolExecutor(max(1, len(self._sinks)), thread_name_prefix="notifications")
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unconfigured_told: set[str] = set()

    async def start(self) -> None:
        """Sweep once (a store that cannot be read now does not stop the start), then start the workers."""
        self._loop = asyncio.get_running_loop()
        await self._sweep()
        for topic in self._sinks:
            self._tasks.append(asyncio.create_task(self._serve(topic), name=f"notifications:{topic}"))
        self._tasks.append(asyncio.create_task(self._sweep_every(), name="notifications:sweep"))
        log.info("notifications: delivering to %d topics (%s)", len(self._sinks), ", ".join(self._sinks))

    async def stop(self) -> None:
        """Waits for each worker to finish the message it is sending (at most one sink timeout)."""
        self._stopping = True
        self._stop.set()
        for wakeup in self._wakeups.values():
            wakeup.set()
        await asyncio.gather(*self._tasks)
        await asyncio.to_thread(self._pool.shutdown)
        for sink in self._sinks.values():
            sink.close()
        log.info("notifications: stopped; undelivered events wait in the store for the next start")

    def wake(self) -> None:
        """Events were stored; safe to call from any thread."""
        if self._loop is not None and not self._stopping:
            self._loop.call_soon_threadsafe(self._wake_all)

    def _wake_all(self) -> None:
        for wakeup in self._wakeups.values():
            wakeup.set()

    # A topic's worker ------------------------------------------------------------------------------

    async def _serve(self, topic: str) -> None:
        failures = 0  # of this topic, in a row
        while not self._stopping:
            try:
                failures = await self._round(topic, failures)
            except Exception as exc:
                _log_failure(f"notifications: delivering to topic {topic} failed; retrying", exc)
                await self._pause(_ERROR_PAUSE_S)

    async def _round(self, topic: str, failures: int) -> int:
        """One batch: returns the topic's failures in a row after it."""
        self._wakeups[topic].clear()  # before the read: what is stored after it wakes the next sleep
        rows, next_due = await asyncio.to_thread(self._read, topic)
        if not rows:
            await self._sleep(topic, next_due)
            return failures
        done = await asyncio.get_running_loop().run_in_executor(self._pool, self._send, topic, rows)
        await asyncio.to_thread(self._record, done)
        self._count(topic, done)
        if done.retry is None:
            return 0
        await self._pause(self.delay(failures + 1))
        return failures + 1

    def _read(self, topic: str) -> tuple[list[Any], float | None]:
        with self._db.read() as conn:
            rows = outbox.due(conn, topic, self._clock(), BATCH)
            return rows, None if rows else outbox.next_due(conn, topic)

    def _send(self, topic: str, rows: list[Any]) -> Round:
        """In the pool: each row in turn, until one fails or the server stops."""
        done = Round()
        sink = self._sinks[topic]
        for row in rows:
            if self._stopping:
                break
            body = _body(row)
            if body is None:
                done.dropped.append(row.pk)
                continue
            try:
                sink.post(body, row.pk)
            except DeliveryFailed as exc:
                done.retry = self._retry(row, str(exc))
                break
            done.delivered.append(row.pk)
        return done

    def _retry(self, row: Any, error: str) -> outbox.Retry:
        attempts = (row.attempts if isinstance(row.attempts, int) else 0) + 1
        delay = self.delay(attempts)
        log.warning("notifications: event %s not delivered (%s); next try in %g s", row.pk, error, delay)
        return outbox.Retry(row.pk, attempts, self._clock() + delay, error)

    def delay(self, failures: int) -> float:
        """Exponential, capped: the first retry after ``retry_initial_s``, at most ``retry_max_s``."""
        settings = self._settings
        return min(settings.retry_max_s, settings.retry_initial_s * 2.0 ** min(failures - 1, 60))

    def _record(self, done: Round) -> None:
        retries = [] if done.retry is None else [done.retry]
        with self._db.write() as conn:
            outbox.settle(conn, done.delivered + done.dropped, retries)

    def _count(self, topic: str, done: Round) -> None:
        self._metrics.delivered(topic, len(done.delivered))
        self._metrics.dropped(topic, "unreadable", len(done.dropped))
        if done.retry is not None:
            self._metrics.failed(topic)

    async def _sleep(self, topic: str, next_due: float | None) -> None:
        """Until events are stored, the next retry is due, or the server stops."""
        timeout = None if next_due is None else max(0.0, next_due - self._clock())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeups[topic].wait(), timeout)

    async def _pause(self, seconds: float) -> None:
        """Deaf to new events: only time or a stop ends it."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    # Sweeping ------------------------------------------------------------------------------------

    async def _sweep_every(self) -> None:
        while not self._stopping:
            await self._pause(SWEEP_S)
            if not self._stopping:
                await self._sweep()

    async def _sweep(self) -> None:
        try:
            expired, waiting = await asyncio.to_thread(self._expire)
        except Exception as exc:
            _log_failure("notifications: sweeping old events failed", exc)
            return
        for topic, n in expired.items():
            log.warning(
                "notifications: dropped %d events of topic %s, undelivered %g s after they happened",
                n,
                topic,
                self._settings.retain_s,
            )
            self._metrics.dropped(topic, "expired", n)
        self._tell_unconfigured(waiting)

    def _expire(self) -> tuple[dict[str, int], dict[str, int]]:
        with self._db.write() as conn:
            expired = outbox.expire(conn, self._clock() - self._settings.retain_s)
            return expired, outbox.backlog(conn)

    def _tell_unconfigured(self, waiting: dict[str, int]) -> None:
        """Events of a topic that is no longer configured wait for it to come back, until they expire."""
        for topic, n in waiting.items():
            if topic not in self._sinks and topic not in self._unconfigured_told:
                self._unconfigured_told.add(topic)
                log.warning(
                    "notifications: %d events wait for topic %s, which [notifications.topics] does not "
                    "name; they are delivered if it is configured again within %g s of each event",
                    n,
                    topic,
                    self._settings.retain_s,
                )


def _body(row: Any) -> bytes | None:
    """The row's message; None, said in the log, for a row that cannot make one."""
    try:
        batch = json.loads(row.batch)
        event_vars = json.loads(row.event_vars)
        if not isinstance(batch, dict) or not isinstance(event_vars, list):
            raise ValueError("Batch is not an object, or EventVars not a list")
        if row.idx is not None:
            batch["TaskInstanceIndex"] = int(row.idx)
        return json.dumps(
            message(str(row.event), float(row.event_time), str(row.region), batch, event_vars)
        ).encode()
    except Exception as exc:  # a damaged row, whatever the damage: it must not stop the others
        log.error("notifications: event %s cannot be read (%s); it is dropped", row.pk, exc)
        return None


def _log_failure(what: str, exc: Exception) -> None:
    """An unavailable store is logged once per outage by the store; a traceback per retry would bury it."""
    if isinstance(exc, StoreUnavailable):
        log.debug("%s: %s", what, exc.cause)
    else:
        log.error(what, exc_info=exc)
