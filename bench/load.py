"""Closed-loop load: N threads each sending one request after another for a fixed time.

Signed SDK clients against batchyard and plain `requests` against the bare endpoint share this
loop, so the two rates differ only by what the requests cost, not by how they are sent.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from harness import BenchError, free_port, spawn, stop_process_group, wait_healthy

Sender = Callable[[], object]  # what it returns is not looked at


def requests_per_second(make_sender: Callable[[], Sender], threads: int, seconds: float) -> float:
    """Each thread builds its own sender (its own connection), then all start together."""
    counts = [0] * threads
    errors: list[BaseException] = []
    start = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def worker(i: int) -> None:
        send = make_sender()
        start.wait()
        try:
            while time.perf_counter() < stop_at[0]:
                send()
                counts[i] += 1
        except Exception as exc:  # a failed request voids the figure; report it, do not hang
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    begin = time.perf_counter()
    stop_at[0] = begin + seconds
    start.wait()
    for t in pool:
        t.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - begin
    if errors:
        raise BenchError(f"load failed: {errors[0]!r}")
    return sum(counts) / elapsed


@contextmanager
def bare_endpoint() -> Iterator[str]:
    """The constant-answering Starlette app under uvicorn in a subprocess; yields its URL."""
    port = free_port()
    log = Path(f"/tmp/batchyard-bench-bare-{port}.log")
    argv = [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port), "--log-level", "warning"]
    with log.open("wb") as out:
        process = spawn([*argv, "--app-dir", str(Path(__file__).parent)], out)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_healthy(url, process, log)
        yield url
    finally:
        stop_process_group(process)
        log.unlink(missing_ok=True)


def bare_sender(url: str) -> Callable[[], Sender]:
    def make() -> Sender:
        session = requests.Session()

        def send() -> None:
            session.post(url, json={"JobId": "job-00000000"}, timeout=30).raise_for_status()

        return send

    return make
