"""A webhook endpoint for notification tests: a real HTTP server on loopback, in a thread, that keeps
what it accepts and refuses with HTTP 500 the first ``refuse`` messages, or those ``refuses`` picks."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Receiver:
    refuse: int = 0
    refuses: Callable[[Delivery], bool] = lambda _delivery: False
    accepted: list[Delivery] = field(default_factory=list)
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keeps connections open, as a real webhook endpoint does

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.take(Delivery(self.path, dict(self.headers), json.loads(body)))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def take(self, delivery: Delivery) -> int:
        with self.lock:
            if self.refused < self.refuse or self.refuses(delivery):
                self.refused += 1
                return 500
            self.accepted.append(delivery)
            return 200

    def url(self, path: str) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def events(self, path: str) -> list[dict[str, Any]]:
        """The one event of each message accepted on ``path``, in arrival order."""
        with self.lock:
            return [d.body["Events"][0] for d in self.accepted if d.path == path]


def receiving() -> Iterator[Receiver]:
    """For a fixture: a started receiver, stopped afterwards."""
    receiver = Receiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
