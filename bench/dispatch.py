"""Dispatch latency: from SubmitJob returning to the user's command starting, seen by the command itself.

The command prints `date +%s%N`, its own start time, so no polling period blurs the figure. The
baseline runs the same `sh -c 'date +%s%N'` straight from Python: the fork/exec the server cannot avoid.
"""

from __future__ import annotations

import base64
import subprocess
import time

from harness import (
    Client,
    Figure,
    Target,
    call,
    make_client,
    percentile,
    running_server,
    submit,
    task,
    wait_job,
)

NAME = "dispatch"
COMMAND = "date +%s%N"
TARGET_MS = 5.0
_LOG_PREFIX = "base64,"


def direct_ms() -> float:
    start = time.time_ns()
    out = subprocess.run(["sh", "-c", COMMAND], capture_output=True, check=True).stdout
    return (int(out) - start) / 1e6


def stdout_of(client: Client, job_id: str) -> str:
    logs = call(client, "DescribeTaskLogs", {"JobId": job_id, "TaskName": "t", "Limit": 1}).TaskInstanceLogSet
    data = str(logs[0].StdoutLog)
    return base64.b64decode(data.split(_LOG_PREFIX, 1)[1]).decode()


def server_samples(count: int) -> list[float]:
    """One job at a time, each waited for, so every submission finds the whole machine free."""
    samples = []
    with running_server() as server:
        client = make_client(server.endpoint)
        for _ in range(count):
            job_id = submit(client, task("t", COMMAND))
            returned = time.time_ns()
            wait_job(client, job_id, timeout=30)
            samples.append((int(stdout_of(client, job_id)) - returned) / 1e6)
    return samples


def run(quick: bool, with_100k: bool) -> list[Figure]:
    count = 30 if quick else 200
    server = server_samples(count)
    direct = [direct_ms() for _ in range(count)]
    figures = []
    for p in (50, 99):
        value, baseline = percentile(server, p), percentile(direct, p)
        name = f"p{p} SubmitJob->command start ({count} jobs)"
        figures.append(Figure(NAME, name, value, "ms", baseline, "direct fork/exec"))
        figures.append(Figure(NAME, f"p{p} above direct fork/exec", value - baseline, "ms"))
    p50_gap = figures[1]
    p50_gap.target = Target(f"<= {TARGET_MS:g} ms", p50_gap.value <= TARGET_MS)
    return figures
