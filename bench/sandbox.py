"""The sandbox (#8): what isolating every attempt costs, against `xargs -P` running the same sandbox.

N instances of `true` in one task (10,000; `--quick` 1,000), run by the server three ways and by
`xargs -P<cpus>` two ways:

- the server as it starts by default: every command in a bubblewrap sandbox as the task user, which
  its node keeps for its attempts to enter in turn (`runner.node_sandbox`), every node's attempts in
  the node's memory cgroup (the wrapper writes its pid to `cgroup.procs`);
- the same with a sandbox made for every attempt (`[sandbox] per_node = false`), as the baseline does;
- the server with the sandbox and without node cgroups (`[sandbox] cgroup = ""`);
- the server with neither (`[sandbox] enabled = false`), the server's own cost;
- `xargs -P<cpus> -n1 <the server's bwrap line> true`: one bwrap, setpriv and `sh -c true` per
  instance, nothing else. The line is built by `runner.sandbox.find_sandbox` from the settings the
  server reads, and it is checked against the line the server really runs (a probe job prints its
  sandbox's `/proc/1/cmdline`: bwrap's own, as pid 1 of the sandbox's PID namespace; a node's kept
  sandbox has the same mounts, and its holder in place of the command);
- `xargs -P<cpus> -n1 sh -c true`, no sandbox: what the sandbox itself costs.

Before its clock starts, each server runs that probe, which must run as the task user (sandbox on)
or as root (off), and its log must say whether node memory is limited as configured: a benchmark of
a sandbox that silently fell back to none would measure the wrong thing.

Every round runs all six in turn (3 rounds; `--quick` 1), and each figure is the median of the rounds:
single runs vary by a fifth on this machine. Each run's time goes to stderr with the load average
before it, which shows other work on the machine. Figures are milliseconds of wall time per instance
(run time / N); the target (issue #8) is the default server within 1.5x of `xargs` running the same
sandbox line.
"""

from __future__ import annotations

import base64
import os
import statistics
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness import (
    CPUS,
    BenchError,
    Client,
    Figure,
    Server,
    Target,
    call,
    make_client,
    running_server,
    submit,
    task,
    temp_dir,
    wait_job,
)
from throughput import poll_interval

from batchyard.config.settings import Settings
from batchyard.runner.node_sandbox import holder_argv
from batchyard.runner.sandbox import Sandbox, find_sandbox
from batchyard.server import private_folders

NAME = "sandbox"
FULL_N, QUICK_N = 10_000, 1_000
REPEATS, QUICK_REPEATS = 3, 1
TARGET = 1.5
UNSANDBOXED = "THE SANDBOX IS OFF"
UNLIMITED = "NODE MEMORY IS NOT LIMITED"
WORKDIR = "@WORKDIR@"  # the working folder in a line, which differs between nodes and the baseline


@dataclass(frozen=True)
class Variant:
    """A server configuration and what its probe must find."""

    label: str
    config: str
    sandboxed: bool
    cgroups: bool
    per_node: bool = False


DEFAULT = Variant("server, sandbox + node cgroups (default)", "", True, True, per_node=True)
PER_ATTEMPT = Variant(
    "server, a sandbox per attempt ([sandbox] per_node = false)", "[sandbox]\nper_node = false\n", True, True
)
NO_CGROUPS = Variant('server, sandbox, [sandbox] cgroup = ""', '[sandbox]\ncgroup = ""\n', True, False, True)
NEITHER = Variant("server, no sandbox, no cgroups", '[sandbox]\nenabled = false\ncgroup = ""\n', False, False)


def the_line(config: str, data_dir: Path) -> Sandbox:
    """The sandbox the server finds with this config and data dir (same folders hidden)."""
    settings = Settings.model_validate({**tomllib.loads(config), "data_dir": data_dir})
    sandbox, why = find_sandbox(settings.sandbox, private_folders(settings))
    if sandbox is None:
        raise BenchError(f"no sandbox on this machine ({why}): run as root with `make system-deps` done")
    return sandbox


def normalised(argv: list[str], workdir: str) -> list[str]:
    return [WORKDIR if arg == workdir else arg for arg in argv]


def stdout_of(client: Client, job_id: str) -> str:
    logs = call(client, "DescribeTaskLogs", {"JobId": job_id, "TaskName": "probe", "Limit": 1})
    data = logs.TaskInstanceLogSet[0].StdoutLog if logs.TaskInstanceLogSet else None
    return base64.b64decode(data.partition("base64,")[2]).decode() if data else ""


def probe(server: Server, client: Client, variant: Variant, expected: Sandbox) -> None:
    """Check the server isolates as configured; in a sandbox, that it runs the baseline's line."""
    command = "id -u; if [ -r /proc/1/cmdline ]; then tr '\\0' '\\n' < /proc/1/cmdline; fi"
    job_id = submit(client, task("probe", command))
    if wait_job(client, job_id, 30) != "SUCCEED":
        raise BenchError(f"{variant.label}: the probe job failed")
    uid, *cmdline = stdout_of(client, job_id).splitlines()
    log = (server.root / "server.log").read_text(errors="replace")
    if variant.sandboxed != (uid == str(expected.uid)) or variant.sandboxed == (UNSANDBOXED in log):
        raise BenchError(f"{variant.label}: commands run as uid {uid}, sandbox expected: {variant.sandboxed}")
    if variant.cgroups == (UNLIMITED in log):
        raise BenchError(f"{variant.label}: node cgroups expected: {variant.cgroups}; see the server's log")
    if variant.sandboxed:
        if "--chdir" not in cmdline:
            raise BenchError(f"{variant.label}: the probe could not read its sandbox's line: {cmdline}")
        workdir = cmdline[cmdline.index("--chdir") + 1]
        served = normalised(cmdline, workdir)
        ours = [*normalised(expected.argv(workdir), workdir), command]
        if variant.per_node:
            ours = normalised(list(holder_argv(expected, workdir, ())), workdir)
        if served != ours:
            raise BenchError(f"the server's sandbox line differs from the baseline's:\n{served}\n{ours}")


def server_seconds(n: int, variant: Variant, expected: Sandbox) -> float:
    """Seconds from SubmitJob to SUCCEED seen by DescribeJob, after the probe."""
    with running_server(config=variant.config) as server:
        client = make_client(server.endpoint)
        probe(server, client, variant, expected)
        start = time.perf_counter()
        job_id = submit(client, task("t", "true", n))
        state = wait_job(client, job_id, 120 + n * 0.05, interval=poll_interval(n))
        elapsed = time.perf_counter() - start
        if state != "SUCCEED":
            raise BenchError(f"{variant.label}, N={n}: job ended {state}")
        return elapsed


def xargs_seconds(n: int, line: list[str], env: dict[str, str] | None = None) -> float:
    """`seq N | xargs -P<cpus> -n1 <line> true`: each instance's number becomes the `sh -c`'s $0."""
    numbers = "".join(f"{i}\n" for i in range(n)).encode()
    argv = ["xargs", f"-P{CPUS}", "-n1", *line, "true"]
    start = time.perf_counter()
    subprocess.run(argv, input=numbers, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def run(quick: bool, with_100k: bool) -> list[Figure]:
    n = QUICK_N if quick else FULL_N
    repeats = QUICK_REPEATS if quick else REPEATS
    with temp_dir("sandbox-line") as root:
        workdir = str(root / "workdir")
        os.mkdir(workdir)
        sandbox = the_line(DEFAULT.config, root / "data")
        sandbox.hand_over(workdir)
        line = sandbox.argv(workdir)
        env = sandbox.environment(workdir)
        runs: dict[str, Callable[[], float]] = {
            "line": lambda: xargs_seconds(n, line, env),
            DEFAULT.label: lambda: server_seconds(n, DEFAULT, sandbox),
            PER_ATTEMPT.label: lambda: server_seconds(n, PER_ATTEMPT, sandbox),
            NO_CGROUPS.label: lambda: server_seconds(n, NO_CGROUPS, sandbox),
            "plain": lambda: xargs_seconds(n, ["sh", "-c"]),
            NEITHER.label: lambda: server_seconds(n, NEITHER, sandbox),
        }
        seconds: dict[str, list[float]] = {name: [] for name in runs}
        for round_ in range(repeats):
            for name, measure in runs.items():
                load = os.getloadavg()[0]  # others' work, and the tail of our last run (1-min average)
                seconds[name].append(measure())
                said = f"{name}: {seconds[name][-1]:.2f} s (load average before: {load:.2f})"
                print(f"[{NAME}] round {round_ + 1}: {said}", file=sys.stderr, flush=True)
    per = {name: statistics.median(s) / n * 1e3 for name, s in seconds.items()}
    line_name, plain_name = f"xargs -P{CPUS} + bwrap line", f"xargs -P{CPUS} sh -c true"
    of = f"N={n:,} x true, median of {repeats}" if repeats > 1 else f"N={n:,} x true"
    default = per[DEFAULT.label]
    target = Target(f"<= {TARGET}x the bwrap line", default / per["line"] <= TARGET)
    return [
        Figure(NAME, f"{DEFAULT.label}, {of}", default, "ms/inst", per["line"], line_name, target),
        Figure(NAME, f"{PER_ATTEMPT.label}, {of}", per[PER_ATTEMPT.label], "ms/inst", per["line"], line_name),
        Figure(NAME, f"{NO_CGROUPS.label}, {of}", per[NO_CGROUPS.label], "ms/inst", per["line"], line_name),
        Figure(NAME, f"xargs -P{CPUS} + bwrap line, {of}", per["line"], "ms/inst", per["plain"], plain_name),
        Figure(NAME, f"{NEITHER.label}, {of}", per[NEITHER.label], "ms/inst", per["plain"], plain_name),
        Figure(NAME, f"{DEFAULT.label}, {of}, run time", statistics.median(seconds[DEFAULT.label]), "s"),
    ]
