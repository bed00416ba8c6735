"""When the store cannot do a unit of work at all: one error for the wire, one log line per outage.

Busy beyond the wait budget, refusing writes (read-only, I/O error, full disk) or impossible to
open: the cause is the store's, not the request's, and its transaction was rolled back, so the
caller is told plainly that nothing was applied and that a retry may succeed. Every other database
error is a bug and stays an ``InternalError`` with a traceback in the log.

The code stays ``InternalError``: it is the code the Batch API documents for failures on the
server's side (the Batch SDK's error codes name no ``ServiceUnavailable`` or ``FailedOperation``),
and the official SDK retries neither it nor those (only network errors and
``RequestLimitExceeded``), so another code would buy clients nothing but a surprise.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError

from batchyard.domain.errors import ApiError

log = logging.getLogger(__name__)

# SQLite primary result codes that say the store, not the statement, is at fault.
_UNAVAILABLE_CODES = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
    }
)


class StoreUnavailable(ApiError):
    """Raised by ``Database`` only; an ``ApiError`` so the API renders it like any other."""

    def __init__(self, cause: str) -> None:
        super().__init__(
            "InternalError",
            f"The store is unavailable ({cause}); the request was not applied. Please retry later.",
        )
        self.cause = cause


def unavailable_cause(exc: BaseException) -> str | None:
    """The driver's own short message when ``exc`` means the store is unavailable, else None.

    Classified by SQLite's result code, never by message text, so a syntax error that happens to
    mention a lock is still a bug.
    """
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    code = getattr(orig, "sqlite_errorcode", None)
    if code is None or code & 0xFF not in _UNAVAILABLE_CODES:
        return None
    return str(orig)


class OutageLog:
    """Logs the start and the end of an outage, once each, whichever request or tick meets them.

    A retry storm (the scheduler every second, clients in a loop) would otherwise bury the one
    fact an operator needs under hundreds of identical lines or tracebacks.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refused = 0
        self._since = 0.0

    def refused(self, cause: str) -> None:
        with self._lock:
            self._refused += 1
            if self._refused > 1:
                return
            self._since = time.monotonic()
        log.warning("store unavailable (%s): requests are refused and ticks retried until it is back", cause)

    def written(self) -> None:
        """A write committed: the outage, if any, is over."""
        if not self._refused:  # the common case costs no lock
            return
        with self._lock:
            refused, self._refused = self._refused, 0
            seconds = time.monotonic() - self._since
        if refused:
            log.warning("store available again after %.1f s (refusals meanwhile: %d)", seconds, refused)


@contextmanager
def translated(outage: OutageLog) -> Iterator[None]:
    """The one place where database failures become an error for the wire."""
    try:
        yield
    except StoreUnavailable as exc:
        outage.refused(exc.cause)
        raise
    except (DBAPIError, sqlite3.Error) as exc:
        cause = unavailable_cause(exc)
        if cause is None:
            raise
        outage.refused(cause)
        raise StoreUnavailable(cause) from exc
