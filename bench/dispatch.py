"""Dispatch latency: from SubmitJob returning to the user's command starting, seen by the command itself.

The command prints `date +%s%N`, its own start time, so no polling period blurs the figure. The
baseline runs the same `sh -c 'date +%s%N'` straight from Python: the fork/exec the server cannot avoid.

Twice: on an idle server (anonymous nodes, one job at a time), and on a server with deep queues:
100 named environments of one node each, each node held by a sleeping blocker and 100 instances of
`true` RUNNABLE behind it, 10,000 in all, beside ten probe environments of one idle node (the host's
capacity and the environment quota are raised in the config to hold them all). The probes go to the
first probe environment, one job at a time, so each finds its node free and its latency is the
scheduler's, not a queue's: what 10,000 runnable instances of other environments cost a submit. The
same environment is probed before the backlog is made, for comparison.

Last, the blockers are terminated and the backlog drains through the 100 environments while probes
go on, each followed by a direct fork/exec: both then compete with the backlog's commands for the
cores. Ticks are slow then, so a probe's start is read from its log as soon as it is there rather
than after its job is seen to end, and the probes take turns over the ten probe environments so
that each still finds its node free. The drain lasts seconds, so this figure rests on a few dozen
probes at most; its job count is printed with it.
"""

from __future__ import annotations

import base64
import subprocess
import time
from dataclasses import dataclass

from harness import (
    BenchError,
    Client,
    Figure,
    Target,
    call,
    create_env,
    env_task,
    make_client,
    percentile,
    running_server,
    submit,
    submit_params,
    task,
    wait_env_created,
    wait_job,
)

NAME = "dispatch"
COMMAND = "date +%s%N"
TARGET_MS = 5.0
BLOCKER = "sleep 3600"
PROBE_ENVS = 10  # the draining probes take turns over these; the others use the first only
POLL_S = 0.02
_LOG_PREFIX = "base64,"


@dataclass(frozen=True)
class Deep:
    """The deep-queue scenario's sizes."""

    envs: int
    per_env: int
    probes: int


FULL = Deep(envs=100, per_env=100, probes=200)
QUICK = Deep(envs=10, per_env=100, probes=30)


def direct_ms() -> float:
    start = time.time_ns()
    out = subprocess.run(["sh", "-c", COMMAND], capture_output=True, check=True).stdout
    return (int(out) - start) / 1e6


def stdout_of(client: Client, job_id: str) -> str:
    """Instance 0's stdout, from its node while it runs or from its kept log; "" before it starts."""
    logs = call(client, "DescribeTaskLogs", {"JobId": job_id, "TaskName": "t", "Limit": 1}).TaskInstanceLogSet
    data = logs[0].StdoutLog if logs else None
    if not data or _LOG_PREFIX not in data:
        return ""
    return base64.b64decode(data.split(_LOG_PREFIX, 1)[1]).decode()


def started_ns(client: Client, job_id: str, timeout: float = 60) -> int:
    """The command's own start, read as soon as it has printed it, whether or not its end is recorded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = stdout_of(client, job_id)
        if out.endswith("\n"):
            return int(out)
        time.sleep(POLL_S)
    raise BenchError(f"{job_id}: its command did not start within {timeout:.0f} s")


def probe_ms(client: Client, work: dict[str, object]) -> float:
    """Submit one instance of COMMAND, wait for its end, return its start minus SubmitJob's return."""
    job_id = submit(client, work)
    returned = time.time_ns()
    wait_job(client, job_id, timeout=30)
    return (int(stdout_of(client, job_id)) - returned) / 1e6


def server_samples(count: int) -> list[float]:
    """One job at a time, each waited for, so every submission finds the whole machine free."""
    with running_server() as server:
        client = make_client(server.endpoint)
        return [probe_ms(client, task("t", COMMAND)) for _ in range(count)]


def wait_counts(client: Client, job_id: str, state: str, count: int, timeout: float = 120) -> None:
    """Until DescribeJob counts ``count`` of the job's instances in ``state`` (e.g. "Running")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        metrics = call(client, "DescribeJob", {"JobId": job_id}).TaskInstanceMetrics
        if getattr(metrics, f"{state}Count") == count:
            return
        time.sleep(0.1)
    raise BenchError(f"{job_id}: not {count} instances {state} within {timeout:.0f} s")


def make_envs(client: Client, count: int) -> list[str]:
    env_ids = [create_env(client, f"e{i}", 1) for i in range(count)]
    for env_id in env_ids:
        wait_env_created(client, env_id, 1)
    return env_ids


@dataclass
class DeepSamples:
    before: list[float]  # the probe environment, before the backlog is made
    parked: list[float]  # with 10,000 instances RUNNABLE behind busy nodes
    draining: list[float]  # while they run
    direct_draining: list[float]  # fork/exec, each after a probe while they run


def draining_samples(
    client: Client, probe_envs: list[str], backlog: str, count: int
) -> tuple[list[float], list[float]]:
    """Probes in turn over the environments, each finding its node free (its last probe ended),
    each followed by a direct fork/exec, until the backlog has run or ``count`` probes are taken."""
    last: dict[str, str] = {}
    probes: list[float] = []
    direct: list[float] = []
    while len(probes) < count:
        env_id = probe_envs[len(probes) % len(probe_envs)]
        if env_id in last:
            wait_job(client, last[env_id], timeout=60)
        last[env_id] = job_id = submit(client, env_task("t", COMMAND, env_id))
        returned = time.time_ns()
        probes.append((started_ns(client, job_id) - returned) / 1e6)
        direct.append(direct_ms())
        if len(probes) % 5 == 0 and call(client, "DescribeJob", {"JobId": backlog}).JobState == "SUCCEED":
            break
    return probes, direct


def deep_samples(sizes: Deep) -> DeepSamples:
    # The host holds every environment's node and the probes' (1 CPU, 1 GiB each).
    room = sizes.envs + PROBE_ENVS
    with running_server(cpus=room, memory_gib=room, compute_envs=room) as server:
        client = make_client(server.endpoint)
        env_ids = make_envs(client, room)
        probe_envs, env_ids = env_ids[:PROBE_ENVS], env_ids[PROBE_ENVS:]
        probe = env_task("t", COMMAND, probe_envs[0])
        before = [probe_ms(client, probe) for _ in range(sizes.probes)]
        blockers = submit(client, *(env_task(f"b{i}", BLOCKER, e) for i, e in enumerate(env_ids)))
        wait_counts(client, blockers, "Running", sizes.envs)
        tasks = [env_task(f"t{i}", "true", e, sizes.per_env) for i, e in enumerate(env_ids)]
        backlog = str(call(client, "SubmitJob", submit_params(*tasks)).JobId)
        wait_counts(client, backlog, "Runnable", sizes.envs * sizes.per_env)
        parked = [probe_ms(client, probe) for _ in range(sizes.probes)]
        wait_counts(client, backlog, "Runnable", sizes.envs * sizes.per_env)  # still all parked
        call(client, "TerminateJob", {"JobId": blockers})
        draining, direct_draining = draining_samples(client, probe_envs, backlog, sizes.probes)
    return DeepSamples(before, parked, draining, direct_draining)


def idle_figures(count: int) -> list[Figure]:
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


def deep_figures(sizes: Deep) -> list[Figure]:
    got = deep_samples(sizes)
    direct = [direct_ms() for _ in range(sizes.probes)]
    fork, fork_p99 = percentile(direct, 50), percentile(direct, 99)
    backlog = f"{sizes.envs * sizes.per_env:,} runnable over {sizes.envs} envs"
    p50, p99 = percentile(got.parked, 50), percentile(got.parked, 99)
    target = Target(f"<= {TARGET_MS:g} ms", p50 - fork <= TARGET_MS)
    drain, drain_fork = percentile(got.draining, 50), percentile(got.direct_draining, 50)
    draining = f"p50 SubmitJob->start while the backlog drains ({len(got.draining)} jobs)"
    return [
        Figure(NAME, f"p50 SubmitJob->start, {backlog} ({sizes.probes} jobs)", p50, "ms", fork, "fork/exec"),
        Figure(NAME, f"p50 above fork/exec, {backlog}", p50 - fork, "ms", target=target),
        Figure(NAME, f"p99 above fork/exec, {backlog}", p99 - fork_p99, "ms"),
        Figure(
            NAME, "p50 above fork/exec, same env before the backlog", percentile(got.before, 50) - fork, "ms"
        ),
        Figure(NAME, draining, drain, "ms", drain_fork, "fork/exec while it drains"),
    ]


def run(quick: bool, with_100k: bool) -> list[Figure]:
    count = 30 if quick else 200
    return [*idle_figures(count), *deep_figures(QUICK if quick else FULL)]
