"""SQLite writers of one process take turns in arrival order instead of racing for the lock.

SQLite's busy handler sleeps between tries, for up to 100 ms at a time, so a writer that has waited
long sleeps through the releases a newcomer then grabs: with 30 clients submitting at once some
SubmitJobs waited 10 s while others went straight through. Here the lock is handed from each writer
to the next in line, API requests and scheduler ticks alike, and only the writer at the head asks
SQLite for it, whose busy timeout then covers other processes only. PostgreSQL queues writers
itself and needs none of this.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import closing, contextmanager

from sqlalchemy import Connection, Engine

from batchyard.store.unavailable import StoreUnavailable


class FifoLock:
    """A lock granted in the order it was asked for, handed straight to the next waiter on release.

    Handing it over (rather than letting waiters race for a free lock) is what makes it fair: no
    thread can slip in between a release and the wake-up of the one that waited longest.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiting: deque[threading.Event] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            turn = threading.Event()
            self._waiting.append(turn)
        return turn.wait(timeout) or self._withdraw(turn)

    def _withdraw(self, turn: threading.Event) -> bool:
        """Leave the line after a timeout, unless the lock was handed over meanwhile: then keep it."""
        with self._mutex:
            if turn.is_set():
                return True
            self._waiting.remove(turn)
            return False

    def release(self) -> None:
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._held = False


class QueuedWriter:
    """Connections of the writer engine, one at a time, each within the writer's whole wait budget.

    The budget (``sqlite_busy_timeout_s``) covers the wait in line and the wait for another
    process's lock together, so a store held elsewhere fails every queued writer within it, not the
    thirtieth after thirty budgets.
    """

    def __init__(self, engine: Engine, budget_s: float) -> None:
        self._engine = engine
        self._budget_s = budget_s
        self._turns = FifoLock()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        deadline = time.monotonic() + self._budget_s
        if not self._turns.acquire(self._budget_s):
            raise StoreUnavailable(f"busy: other writers held it for {self._budget_s:g} s")
        try:
            with self._engine.connect() as conn:
                _wait_for_lock_until(conn, deadline)
                yield conn
        finally:
            self._turns.release()


def _wait_for_lock_until(conn: Connection, deadline: float) -> None:
    """Give SQLite's busy handler what is left of the budget; on the driver, so nothing begins yet."""
    left_ms = max(0, round((deadline - time.monotonic()) * 1000))
    with closing(conn.connection.cursor()) as cursor:
        cursor.execute(f"PRAGMA busy_timeout = {left_ms}")
