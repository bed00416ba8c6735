"""The controller loop: the only writer of instance states.

It sleeps until something happens (a submit, an attempt event, a user's request, the next
timeout), then runs one tick in a worker thread. A tick applies every pending event in one batch,
carries out requests, notices timeouts, rolls tasks and jobs up, releases or fails dependent tasks
and dispatches runnable instances, all in one transaction; only after the commit does it kill or
launch anything, so the store never lags behind the nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable

from batchyard.domain.states import State
from batchyard.executors.base import AttemptEvent, AttemptFinished, AttemptSpec, Executor, Failure
from batchyard.scheduler.dispatch import dispatch
from batchyard.scheduler.intents import cancel, carry_out
from batchyard.scheduler.ledger import Active, Cancel, Ledger
from batchyard.scheduler.outcomes import apply_events
from batchyard.scheduler.runtime import RuntimeCache
from batchyard.scheduler.settle import settle
from batchyard.scheduler.tick import Tick
from batchyard.store import scheduling
from batchyard.store.database import Database
from batchyard.store.unavailable import StoreUnavailable

log = logging.getLogger(__name__)

_RETRY_DELAY_AFTER_ERROR_S = 1.0
# How long a RUNNING transition may wait to be written, so that it shares a tick with others.
START_RECORD_DELAY_S = 0.02
# Under load, ticks start at most this often, so each one carries many events; the executor's
# backlog keeps nodes busy meanwhile. An idle scheduler still reacts at once.
MIN_TICK_INTERVAL_S = 0.02


class Scheduler:
    def __init__(self, db: Database, executor: Executor, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._executor = executor
        self._clock = clock
        self._ledger = Ledger(executor.capacity() + executor.backlog())
        self._runtimes = RuntimeCache(executor.capacity())
        self._events: list[AttemptEvent] = []
        self._waiters: list[threading.Event] = []
        self._intents = True  # check the store for intents on the first tick
        self._start_timer: asyncio.TimerHandle | None = None
        self._urgent = asyncio.Event()  # a user is waiting: skip (or cut short) the batching pause
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Re-attach attempts that were running before a restart, then start the loop."""
        self._loop = asyncio.get_running_loop()
        await self._executor.start(self._on_event)
        specs, cancelled = await asyncio.to_thread(self._recover)
        self._executor.reattach(specs)
        self._executor.cancel(cancelled)
        log.info("scheduler started: %d attempts re-attached, capacity %s", len(specs), self._ledger.capacity)
        self._task = asyncio.create_task(self._run(), name="scheduler")
        self._wakeup.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        await self._executor.stop()
        log.info("scheduler stopped; %d attempts left running for the next start", len(self._ledger))

    def wake(self) -> None:
        """Ask for a tick now (new work was submitted); safe to call from any thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake_urgently)

    def _wake_urgently(self) -> None:
        self._urgent.set()
        self._wakeup.set()

    def settle_now(self, timeout: float = 2.0) -> None:
        """Wake the scheduler and wait (from a worker thread) until a tick has run since this call.

        Used after recording an intent, so that a TerminateJob or RetryJobs caller sees its effect
        in the very next Describe.
        """
        if self._loop is None:
            return
        done = threading.Event()
        self._loop.call_soon_threadsafe(self._add_waiter, done)
        done.wait(timeout)

    def _add_waiter(self, done: threading.Event) -> None:
        self._waiters.append(done)
        self._intents = True
        self._wake_urgently()

    def _on_event(self, event: AttemptEvent) -> None:
        """Finishes wake the loop at once (they free capacity); starts only need recording soon."""
        self._events.append(event)
        if isinstance(event, AttemptFinished):
            self._wakeup.set()
        elif self._start_timer is None:
            self._start_timer = self._loop_or_fail().call_later(START_RECORD_DELAY_S, self._wake_for_starts)

    def _wake_for_starts(self) -> None:
        self._start_timer = None
        self._wakeup.set()

    def _loop_or_fail(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("Scheduler.start() was not awaited")
        return self._loop

    async def _run(self) -> None:
        last = 0.0
        while not self._stopping:
            await self._sleep_until_needed()
            pause = last + MIN_TICK_INTERVAL_S - time.monotonic()
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._urgent.wait(), pause)
            self._urgent.clear()
            last = time.monotonic()
            if self._stopping:
                break
            events, self._events = self._events, []
            waiters, self._waiters = self._waiters, []
            intents, self._intents = self._intents, False
            try:
                tick = await asyncio.to_thread(self._tick, events, intents)
            except Exception as exc:
                _log_failure("scheduler tick failed; reloading its state from the store and retrying", exc)
                self._events[:0] = events
                self._waiters[:0] = waiters
                self._intents = True
                await asyncio.sleep(_RETRY_DELAY_AFTER_ERROR_S)
                await self._reload()
                self._wakeup.set()
                continue
            self._executor.release(tick.ended)
            self._executor.cancel(tick.cancels)
            self._executor.launch(tick.launches)
            for waiter in waiters:
                waiter.set()
            if tick.more:
                self._wakeup.set()

    async def _sleep_until_needed(self) -> None:
        deadline = self._ledger.next_deadline()
        timeout = None if deadline is None else max(0.0, deadline - self._clock())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout)
        self._wakeup.clear()

    def _tick(self, events: list[AttemptEvent], intents: bool) -> Tick:
        with self._db.write() as conn:
            tick = Tick(conn, self._clock(), self._ledger, self._runtimes)
            apply_events(tick, events)
            if intents:
                carry_out(tick)
            for active in tick.ledger.expired(tick.now):
                timeout = f"The command timed out after {active.timeout} s and was killed."
                cancel(tick, [active], timeout, retry=True)
            settle(tick)
            dispatch(tick)
            settle(tick)
        return tick

    async def _reload(self) -> None:
        """Forget what a failed tick changed in memory: the store, rolled back, is the truth.

        Events of that tick are applied again, and intents, timeouts and kills are decided again.
        """
        while not self._stopping:
            self._ledger = Ledger(self._ledger.capacity)
            try:
                await asyncio.to_thread(self._recover)
                return
            except Exception as exc:
                _log_failure("reloading the scheduler's state failed; retrying", exc)
                await asyncio.sleep(_RETRY_DELAY_AFTER_ERROR_S)

    def _recover(self) -> tuple[list[AttemptSpec], list[int]]:
        """Rebuild the ledger from the store: attempts still on nodes and nodes held by interrupted ones.

        Returns the launch specs of the attempts to re-attach, and those being killed (their kills
        were promised before the restart, so they are carried out again). An attempt whose task
        cannot be read is ended as unrunnable rather than stopping the start.
        """
        specs, cancelled = [], []
        with self._db.read() as conn:
            self._ledger.last_attempt_pk = scheduling.last_attempt_pk(conn)
            for row in scheduling.active_attempts(conn):
                runtime = self._runtimes.get(conn, row.task_pk)
                active = Active(
                    row.pk,
                    row.task_pk,
                    row.idx,
                    row.number,
                    State.RUNNING if row.running_time is not None else State.STARTING,
                    runtime.demand,
                    runtime.spec.timeout,
                    runtime.rank(row.idx),
                )
                self._ledger.add(active)
                if row.running_time is not None:
                    self._ledger.start_clock(active, row.running_time)
                if runtime.fault is not None:
                    self._events.append(
                        AttemptFinished(row.pk, self._clock(), None, Failure.UNRUNNABLE, runtime.fault)
                    )
                    continue
                if row.cancel_reason:
                    active.cancel = Cancel(row.cancel_reason, retry=False)
                    cancelled.append(row.pk)
                specs.append(runtime.attempt(row.pk, row.idx))
            for row in scheduling.held_instances(conn):
                self._ledger.hold(row.task_pk, row.idx, self._runtimes.get(conn, row.task_pk).demand)
        return specs, cancelled


def _log_failure(what: str, exc: Exception) -> None:
    """An unavailable store is logged once per outage by the store; a traceback per retry would bury it."""
    if isinstance(exc, StoreUnavailable):
        log.debug("%s: %s", what, exc.cause)
    else:
        log.error(what, exc_info=exc)
