"""SubmitJob latency with 30 signed clients writing at once, beside the same submits sent one at a time.

Each client is its own process, so a client's signing and parsing never waits for another client's
GIL: the spread measured is the server's (how fairly its writers share the store), not the load
generator's. Jobs are one `true` instance each and really run, so the scheduler's ticks write beside
the submits as they do in production. Every run starts a fresh server; the figures are medians over
runs, because a single run's p99 rests on a handful of samples.

The clients are a closed loop, so their mean latency is 30 over the server's rate (Little's law):
fair queueing brings p99 and max down to about that mean, and only a higher rate brings the mean
down. The rate is printed beside the latencies for that reason.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from harness import (
    Figure,
    Target,
    call_raw,
    make_client,
    median,
    percentile,
    running_server,
    submit_params,
    task,
)

NAME = "contention"
CLIENTS = 30
TARGET_P99_MS = 250.0
_JOB = submit_params(task("t", "true"))


@dataclass(frozen=True)
class Sizes:
    per_client: int
    sequential: int
    runs: int


FULL = Sizes(per_client=20, sequential=100, runs=3)
QUICK = Sizes(per_client=4, sequential=20, runs=1)


@dataclass(frozen=True)
class Stats:
    p50: float
    p99: float
    max: float
    per_s: float


def stats(loops: list[list[float]]) -> Stats:
    """Latencies of closed loops; the rate is that of the loop that took longest, which bounds them all."""
    samples = [sample for loop in loops for sample in loop]
    seconds = max(sum(loop) for loop in loops) / 1000
    return Stats(percentile(samples, 50), percentile(samples, 99), max(samples), len(samples) / seconds)


def submit_ms(endpoint: str, count: int, ready: threading.Barrier | None = None) -> list[float]:
    """One client's closed loop: the next submit leaves when the previous answer is in."""
    client = make_client(endpoint)
    if ready is not None:
        ready.wait()
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        call_raw(client, "SubmitJob", _JOB)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def concurrent_ms(endpoint: str, per_client: int) -> list[list[float]]:
    """Forked clients wait at a barrier so all 30 start writing in the same instant."""
    context = multiprocessing.get_context("fork")
    with context.Manager() as manager, ProcessPoolExecutor(CLIENTS, mp_context=context) as pool:
        ready = manager.Barrier(CLIENTS)
        futures = [pool.submit(submit_ms, endpoint, per_client, ready) for _ in range(CLIENTS)]
        return [future.result() for future in futures]


def one_run(sizes: Sizes) -> tuple[Stats, Stats]:
    """Sequential first, on the same fresh server, so both see a store of about the same size."""
    with running_server() as server:
        alone = stats([submit_ms(server.endpoint, sizes.sequential)])
        together = stats(concurrent_ms(server.endpoint, sizes.per_client))
    return together, alone


def run(quick: bool, with_100k: bool) -> list[Figure]:
    sizes = QUICK if quick else FULL
    runs = [one_run(sizes) for _ in range(sizes.runs)]
    p99 = middle(runs, 0, lambda s: s.p99)
    target = Target(f"p99 <= {TARGET_P99_MS:g} ms", p99 <= TARGET_P99_MS)
    return [
        figure(runs, "SubmitJob p50", "ms", lambda s: s.p50),
        figure(runs, "SubmitJob p99", "ms", lambda s: s.p99, target),
        figure(runs, "SubmitJob max", "ms", lambda s: s.max),
        figure(runs, "SubmitJob/s", "req/s", lambda s: s.per_s),
    ]


def middle(runs: list[tuple[Stats, Stats]], which: int, field: Callable[[Stats], float]) -> float:
    return median([field(run[which]) for run in runs])


def figure(
    runs: list[tuple[Stats, Stats]],
    label: str,
    unit: str,
    field: Callable[[Stats], float],
    target: Target | None = None,
) -> Figure:
    name = f"{label}, {CLIENTS} concurrent clients (median of {len(runs)})"
    together, alone = middle(runs, 0, field), middle(runs, 1, field)
    return Figure(NAME, name, together, unit, alone, "one client at a time", target)
