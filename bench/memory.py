"""Memory: the server's peak RSS while a million queued instances sit in its store.

Instances are rows, not Python objects: holding many must not grow the process. A 1-CPU server held
by a sleeping attempt keeps every submitted instance queued, the state a backlog really is in.
"""

from __future__ import annotations

import time

from harness import Figure, Target, block_capacity, make_client, running_server, submit, task

NAME = "memory"
PER_JOB = 100_000
TARGET_MB = 300.0
TARGET_INSTANCES = 1_000_000


def run(quick: bool, with_100k: bool) -> list[Figure]:
    jobs = 1 if quick else TARGET_INSTANCES // PER_JOB
    total = jobs * PER_JOB
    with running_server(cpus=1, memory_gib=1) as server:
        client = make_client(server.endpoint, timeout=300)
        block_capacity(client)
        idle = server.rss_mb()
        start = time.perf_counter()
        for _ in range(jobs):
            submit(client, task("t", "true", PER_JOB))
        submit_s = time.perf_counter() - start
        time.sleep(2)  # let the scheduler take in the backlog before reading the peak
        peak, now = server.peak_rss_mb(), server.rss_mb()
    target = Target(f"<= {TARGET_MB:g} MB", peak <= TARGET_MB) if total >= TARGET_INSTANCES else None
    return [
        Figure(NAME, "server RSS idle (blocker running)", idle, "MB"),
        Figure(NAME, f"server peak RSS holding {total:,} instances", peak, "MB", target=target),
        Figure(NAME, f"server RSS after holding {total:,} instances", now, "MB"),
        Figure(NAME, f"SubmitJob x{jobs} of {PER_JOB:,} instances, mean", submit_s / jobs * 1000, "ms"),
    ]
