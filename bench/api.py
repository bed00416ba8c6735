"""API latency on a loaded store, and DescribeJob throughput against a bare endpoint of the same stack.

All figures come from one 1-CPU server whose CPU is held by a sleeping attempt, so the big task and
the thousands of jobs stay queued: reads are measured against a full store, not a draining one.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from harness import (
    Client,
    Figure,
    Server,
    Target,
    block_capacity,
    call,
    call_raw,
    make_client,
    percentile,
    running_server,
    submit,
    submit_params,
    task,
    timed_ms,
)
from load import Sender, bare_endpoint, bare_sender, requests_per_second

NAME = "api"
CLIENTS = 16


@dataclass(frozen=True)
class Sizes:
    big_task: int
    jobs: int
    repeat: int
    submit_repeat: int
    load_seconds: float


FULL = Sizes(big_task=100_000, jobs=10_000, repeat=100, submit_repeat=20, load_seconds=5)
QUICK = Sizes(big_task=10_000, jobs=300, repeat=20, submit_repeat=3, load_seconds=1)


def latency(name: str, samples: list[float], target_ms: float | None = None) -> list[Figure]:
    p50, p99 = percentile(samples, 50), percentile(samples, 99)
    target = None if target_ms is None else Target(f"p50 <= {target_ms:g} ms", p50 <= target_ms)
    return [Figure(NAME, f"{name} p50", p50, "ms", target=target), Figure(NAME, f"{name} p99", p99, "ms")]


def describe_task(client: Client, job_id: str, sizes: Sizes) -> list[Figure]:
    """Pages spread over the whole task, so a deep OFFSET costs what it really costs."""
    pages = iter(range(sizes.repeat))
    span = max(1, sizes.big_task - 1000)

    def page() -> None:
        offset = next(pages) * 7919 * 1000 % span
        call_raw(client, "DescribeTask", {"JobId": job_id, "TaskName": "t", "Offset": offset, "Limit": 1000})

    samples = timed_ms(page, sizes.repeat)
    return latency(f"DescribeTask Limit=1000 on {sizes.big_task:,} instances", samples, 20)


def fill_jobs(server: Server, count: int) -> None:
    """Many small queued jobs, submitted from a few threads only to save setup time."""
    local = threading.local()

    def one(_: int) -> None:
        if not hasattr(local, "client"):
            local.client = make_client(server.endpoint)
        submit(local.client, task("t", "true"))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(count)))


def describe_jobs(client: Client, total: int, sizes: Sizes) -> list[Figure]:
    pages = iter(range(sizes.repeat))

    def page() -> None:
        offset = next(pages) * 7919 * 100 % max(1, total - 100)
        call_raw(client, "DescribeJobs", {"Offset": offset, "Limit": 100})

    return latency(f"DescribeJobs Limit=100 over {total:,} jobs", timed_ms(page, sizes.repeat))


def chain(length: int) -> dict[str, object]:
    tasks = [task(f"t{i}", "true") for i in range(length)]
    edges = [{"StartTask": f"t{i}", "EndTask": f"t{i + 1}"} for i in range(length - 1)]
    return submit_params(*tasks, Dependences=edges)


def submits(client: Client, sizes: Sizes) -> list[Figure]:
    wide, dag = submit_params(task("t", "true", 10_000)), chain(100)
    wide_ms = timed_ms(lambda: call(client, "SubmitJob", wide), sizes.submit_repeat)
    dag_ms = timed_ms(lambda: call(client, "SubmitJob", dag), sizes.submit_repeat)
    return [
        *latency("SubmitJob 1 task x 10,000 instances", wide_ms, 200),
        *latency("SubmitJob 100-task chain DAG", dag_ms),
    ]


def describe_job_rate(server: Server, job_id: str, seconds: float) -> Figure:
    def signed() -> Sender:
        client = make_client(server.endpoint)
        return lambda: call_raw(client, "DescribeJob", {"JobId": job_id})

    rate = requests_per_second(signed, CLIENTS, seconds)
    with bare_endpoint() as url:
        bare = requests_per_second(bare_sender(url), CLIENTS, seconds)
    name, target = f"DescribeJob req/s, {CLIENTS} signed clients", Target(">= 0.5x bare", rate >= 0.5 * bare)
    return Figure(NAME, name, rate, "req/s", bare, "bare Starlette", target)


def run(quick: bool, with_100k: bool) -> list[Figure]:
    sizes = QUICK if quick else FULL
    with running_server(cpus=1, memory_gib=1) as server:
        client = make_client(server.endpoint)
        block_capacity(client)
        start = time.perf_counter()
        big = submit(client, task("t", "true", sizes.big_task))
        big_ms = (time.perf_counter() - start) * 1000
        figures = [Figure(NAME, f"SubmitJob 1 task x {sizes.big_task:,} instances (once)", big_ms, "ms")]
        figures += describe_task(client, big, sizes)
        figures += submits(client, sizes)
        fill_jobs(server, sizes.jobs)
        total = int(call(client, "DescribeJobs", {"Limit": 1}).TotalCount)
        figures += describe_jobs(client, total, sizes)
        figures.append(describe_job_rate(server, big, sizes.load_seconds))
        figures.append(Figure(NAME, "server peak RSS", server.peak_rss_mb(), "MB"))
    return figures
