"""A topic's sink: an HTTP endpoint that takes each message as a JSON POST.

One connection per sink, kept open between messages (a job's thousand instance events are a
thousand requests); a connection the endpoint closed meanwhile is opened again once before the
message counts as failed. Any 2xx answer is delivery; anything else, redirects included, is not.
Proxies are not used: sinks are named by the server's administrator.
"""

from __future__ import annotations

import http.client
import socket
from typing import Final
from urllib.parse import urlsplit

_MAX_ANSWER: Final = 64 * 1024  # read of an answer's body, so the connection can be used again
USER_AGENT: Final = "batchyard-notifications"


class DeliveryFailed(Exception):
    """The sink did not take the message; the text says why (an HTTP status, a connection error)."""


class WebhookSink:
    def __init__(self, url: str, timeout_s: float) -> None:
        parts = urlsplit(url)
        self.url = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout_s = timeout_s
        self._conn: http.client.HTTPConnection | None = None

    def post(self, body: bytes, event_id: int) -> None:
        """Deliver one message; raises ``DeliveryFailed``. ``event_id`` (the outbox row's number) lets a
        receiver drop a message it already had: delivery is at least once."""
        reused = self._conn is not None and self._conn.sock is not None
        try:
            status = self._send(body, event_id)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            if not reused:
                raise DeliveryFailed(_describe(exc)) from None
            status = self._send_fresh(body, event_id)
        if not 200 <= status < 300:
            raise DeliveryFailed(f"{self.url} answered HTTP {status}")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _send_fresh(self, body: bytes, event_id: int) -> int:
        """A kept connection the endpoint had closed: once more on a new one."""
        try:
            return self._send(body, event_id)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise DeliveryFailed(_describe(exc)) from None

    def _send(self, body: bytes, event_id: int) -> int:
        conn = self._conn or self._connect()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Batchyard-Event-Id": str(event_id),
        }
        conn.request("POST", self._target, body, headers)
        answer = conn.getresponse()
        answer.read(_MAX_ANSWER)
        if not answer.isclosed():  # an answer longer than we read: the connection is not reusable
            self.close()
        return answer.status

    def _connect(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        self._conn = kind(self._host, self._port, timeout=self._timeout_s)
        return self._conn


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}".rstrip(": ")
