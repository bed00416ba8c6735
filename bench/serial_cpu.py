"""Serial CPU per instance: what the server spends on each instance in the threads that cannot spread.

N instances of `true` run as in the throughput benchmark, once on anonymous nodes and once on a named
environment of a one-CPU node per core. The server's CPU time (user + sys) is read from
/proc/<pid>/stat and, per thread, from /proc/<pid>/task/*/stat, just before SubmitJob and once
DescribeJob has seen SUCCEED. Two threads carry the per-instance work and cannot be spread over
cores: the event loop (the main thread: HTTP, reaping and launching every attempt) and the
scheduler's tick (a thread of asyncio's default executor, `asyncio_N`). Their CPU per instance,
the serial part, bounds the instances per second the server can feed on any machine: 1 / serial
CPU. The rest (the API's worker threads, log uploads) is reported in the process's total. All of it
shares one GIL, so the total is the stricter bound; the serial part is the one that does not shrink
when requests are spread over more threads.

The baseline is what cores need: `seq N | xargs -P<cpus> sh -c true`, measured in the same run, costs
xargs seconds x cpus / N per instance per core, so 16 cores run 16 / that many instances per second.
The ratio of the two says how much of a 16-core machine the server could keep busy with `true`.

CPU time is not quite the serial time: `os.posix_spawn` holds the GIL while its vfork child opens
the logs and execs, time the loop waits without spending CPU (about 0.17 ms of 0.35 ms per spawn on
an idle machine), and SQLite runs part of each tick without the GIL. A sampling profiler
(`py-spy --gil`) sees the difference; this benchmark reports what /proc can tell.

Python 3.11 gives every thread the process's name in /proc, so the server is started through
`named_threads.py`, which names each thread after its Python name. DescribeJob is polled every
half second only: each poll costs the event loop about a millisecond, a few microseconds per instance
in all.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass
from pathlib import Path

from harness import (
    CPUS,
    BenchError,
    Figure,
    Target,
    make_client,
    running_server,
    submit,
    wait_job,
)
from throughput import ENV_INSTANCE_TYPE, trues, xargs_seconds

NAME = "serial_cpu"
TARGET_MS = 0.1
CORES = 16  # the machine the figure is extrapolated to
POLL_S = 0.5
TICK_THREADS = "asyncio_"  # asyncio.to_thread's executor: the scheduler's ticks, nothing else after start
_CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")  # the unit of utime and stime in /proc


@dataclass(frozen=True)
class Cpu:
    """Seconds of CPU (user + sys) since the server started."""

    total: float  # the whole process, threads that have exited included
    loop: float
    ticks: float

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(self.total - other.total, self.loop - other.loop, self.ticks - other.ticks)

    @property
    def serial(self) -> float:
        return self.loop + self.ticks


def stat_seconds(path: Path) -> float:
    """utime + stime of a /proc stat file, read after the command name (which may hold spaces)."""
    fields = path.read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS_PER_S


def cpu_of(pid: int) -> Cpu:
    loop = ticks = 0.0
    for thread in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (thread / "comm").read_text().strip()
            seconds = stat_seconds(thread / "stat")
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended meanwhile: the process's own figure still counts it
        if thread.name == str(pid):
            loop = seconds
        elif name.startswith(TICK_THREADS):
            ticks += seconds
    return Cpu(stat_seconds(Path(f"/proc/{pid}/stat")), loop, ticks)


def server_cpu(n: int, named_env: bool) -> Cpu:
    """The server's CPU from just before SubmitJob to SUCCEED, for N instances of `true`."""
    with running_server(named_threads=True) as server:
        client = make_client(server.endpoint)
        work = trues(client, n, named_env)
        before = cpu_of(server.pid)
        job_id = submit(client, work)
        state = wait_job(client, job_id, 60 + n * 0.03, interval=POLL_S)
        after = cpu_of(server.pid)
        if state != "SUCCEED":
            raise BenchError(f"N={n}: job ended {state}")
    spent = after - before
    if spent.ticks == 0:
        raise BenchError(f"no CPU in threads named {TICK_THREADS}*: do ticks still run in asyncio.to_thread?")
    return spent


def figures(label: str, n: int, runs: list[Cpu], xargs_s: float) -> list[Figure]:
    """Per instance, in ms; each part's median over the runs."""

    def per_instance_ms(part: str) -> float:
        return float(statistics.median(getattr(run, part) for run in runs)) / n * 1000

    serial_ms = per_instance_ms("serial")
    feeds = 1000 / serial_ms
    per_core_s = xargs_s * CPUS / n
    needed = CORES / per_core_s
    median_of = f", median of {len(runs)}" if len(runs) > 1 else ""
    return [
        Figure(
            NAME,
            f"{label}: server CPU per instance, whole process{median_of}",
            per_instance_ms("total"),
            "ms",
        ),
        Figure(NAME, f"{label}: event loop thread", per_instance_ms("loop"), "ms"),
        Figure(NAME, f"{label}: scheduler tick thread", per_instance_ms("ticks"), "ms"),
        Figure(
            NAME,
            f"{label}: serial CPU per instance (loop + ticks)",
            serial_ms,
            "ms",
            target=Target(f"<= {TARGET_MS:g} ms", serial_ms <= TARGET_MS),
        ),
        Figure(
            NAME,
            f"{label}: instances/s the serial part can feed",
            feeds,
            "/s",
            needed,
            f"{CORES} cores of `true` ({per_core_s * 1000:.2f} ms/instance/core)",
        ),
    ]


def run(quick: bool, with_100k: bool) -> list[Figure]:
    """Anonymous, named environment, then xargs, in turn; medians of a few such triples."""
    n, repeats = (1_000, 1) if quick else (10_000, 3)
    anonymous, named, baselines = [], [], []
    for _ in range(repeats):
        anonymous.append(server_cpu(n, named_env=False))
        named.append(server_cpu(n, named_env=True))
        baselines.append(xargs_seconds(n))
    xargs_s = statistics.median(baselines)
    return [
        *figures(f"N={n:,} anonymous nodes", n, anonymous, xargs_s),
        *figures(f"N={n:,} named env of {CPUS} x {ENV_INSTANCE_TYPE}", n, named, xargs_s),
    ]
