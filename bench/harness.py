"""Shared plumbing for the benchmarks: a real `batchyard serve` subprocess, an SDK client, figures.

Benchmarks drive the server exactly as users do (a subprocess spoken to through the official SDK),
so the figures include the HTTP stack, signing and the scheduler's wake-ups, not just library calls.
Nothing here is imported from tests/: the benchmark suite must keep working while tests change.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
from tencentcloud.batch.v20170312 import batch_client, models
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from batchyard.runner.cgroups import discard_node_cgroups
from batchyard.runner.wrapper import kill_wrappers_under

SECRET_ID = "AKIDbatchyardbench000000000000000000"
SECRET_KEY = "batchyardbenchsecretkey000000000"
REGION = "ap-guangzhou"
ZONE = "ap-guangzhou-3"
CPUS = os.cpu_count() or 1
Client = batch_client.BatchClient
UNTHROTTLED = "[rate_limits]\nenabled = false\n[quotas]\nunfinished_jobs = 10000000\n"
NAMED_THREADS = Path(__file__).resolve().parent / "named_threads.py"


class BenchError(RuntimeError):
    """A benchmark could not produce its figure (server died, timed out, answered wrongly)."""


@dataclass(frozen=True)
class Target:
    """A goal from issue #4; `met` is decided by the benchmark that knows the figure's meaning."""

    text: str
    met: bool


@dataclass
class Figure:
    """One measured number, with the baseline measured in the same run when there is one."""

    bench: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: Target | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(argv: list[str], log: IO[bytes], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """In its own session, so stopping it can kill whatever it forked as one process group."""
    return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise BenchError(f"{log.name}: server exited with {process.returncode}:\n{tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise BenchError(f"server at {url} not healthy within {timeout} s")


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM first so the server shuts down in order; SIGKILL the group if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@dataclass
class Server:
    """A `batchyard serve` in its own session, with its own data dir and optional capacity."""

    root: Path
    cpus: int | None = None
    memory_gib: int | None = None
    compute_envs: int | None = None  # the quota of named environments, when more than the default
    named_threads: bool = False  # threads named in /proc (named_threads.py), for CPU per thread
    monitor_period_s: int | None = None  # how often running attempts are sampled (default: the server's)
    config: str = ""  # TOML put first in the server's file (so top-level keys such as object_store work)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise BenchError("the server is not running")
        return self.process.pid

    def start(self) -> None:
        launcher = [str(NAMED_THREADS)] if self.named_threads else ["-m", "batchyard"]
        argv = [sys.executable, *launcher, "serve", "--port", str(self.port)]
        argv += ["--data-dir", str(self.data_dir), "--config", str(self.write_config())]
        env = {**os.environ, "BATCHYARD_SECRET_ID": SECRET_ID, "BATCHYARD_SECRET_KEY": SECRET_KEY}
        log = self.root / "server.log"
        with log.open("ab") as out:
            self.process = spawn(argv, out, env)
        wait_healthy(f"http://{self.endpoint}/healthz", self.process, log)

    def write_config(self) -> Path:
        """Tencent's per-action rate limits and job quota off: the figures are the server's own cost."""
        text = self.config + "\n" + UNTHROTTLED
        if self.compute_envs is not None:
            text += f"compute_envs = {self.compute_envs}\n"
        if self.cpus is not None:
            text += f"[local]\ncpus = {self.cpus}\nmemory_gib = {self.memory_gib or 1}\n"
        if self.monitor_period_s is not None:
            text += f"[monitor]\nperiod_s = {self.monitor_period_s}\n"
        config = self.root / "config.toml"
        config.write_text(text)
        return config

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process)
        kill_wrappers_under(str(self.data_dir))  # attempts outlive a stopped server by design
        discard_node_cgroups(self.data_dir)  # so do its nodes' memory cgroups

    def peak_rss_mb(self) -> float:
        return proc_status_kib(self.pid, "VmHWM") * 1024 / 1e6

    def rss_mb(self) -> float:
        return proc_status_kib(self.pid, "VmRSS") * 1024 / 1e6


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"batchyard-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def running_server(
    cpus: int | None = None,
    memory_gib: int | None = None,
    compute_envs: int | None = None,
    named_threads: bool = False,
    monitor_period_s: int | None = None,
    config: str = "",
) -> Iterator[Server]:
    """A fresh server in a fresh temp dir; stopped, its attempts killed and the dir deleted on exit.

    ``config``: TOML of the benchmark's own, put before the harness's settings (see ``Server.config``).
    """
    with temp_dir("server") as root:
        server = Server(root, cpus, memory_gib, compute_envs, named_threads, monitor_period_s, config)
        try:
            server.start()
            yield server
        except BaseException:
            log = root / "server.log"
            if log.exists():  # the temp dir is about to go: keep the evidence on stderr
                print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
            raise
        finally:
            server.stop()


def proc_status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise BenchError(f"/proc/{pid}/status has no {key}")


def make_client(endpoint: str, timeout: int = 120) -> batch_client.BatchClient:
    profile = ClientProfile(httpProfile=HttpProfile(endpoint=endpoint, protocol="http", reqTimeout=timeout))
    return batch_client.BatchClient(credential.Credential(SECRET_ID, SECRET_KEY), REGION, profile)


def call(client: batch_client.BatchClient, action: str, params: dict[str, Any]) -> Any:
    request = getattr(models, f"{action}Request")()
    request.from_json_string(json.dumps(params))
    return getattr(client, action)(request)


def call_raw(client: batch_client.BatchClient, action: str, params: dict[str, Any]) -> str:
    """Sign, send and check a request but leave the body unparsed: latency figures then measure the
    server and the wire, not the SDK's model building, which the bare baseline does not pay either."""
    body: str = client.call(action, params)
    return body


def task(name: str, command: str, instances: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "TaskName": name,
        "TaskInstanceNum": instances,
        "Application": {"DeliveryForm": "LOCAL", "Command": command},
        "ComputeEnv": {"EnvType": "MANAGED", "EnvData": {"InstanceType": "S2.SMALL1"}},
        **extra,
    }


def env_task(name: str, command: str, env_id: str, instances: int = 1, **extra: Any) -> dict[str, Any]:
    """A task run on the nodes of a named environment instead of nodes made for it."""
    return {
        "TaskName": name,
        "TaskInstanceNum": instances,
        "Application": {"DeliveryForm": "LOCAL", "Command": command},
        "EnvId": env_id,
        **extra,
    }


def create_env(
    client: batch_client.BatchClient, name: str, nodes: int, instance_type: str = "S2.SMALL1"
) -> str:
    spec = {"EnvName": name, "DesiredComputeNodeCount": nodes, "EnvData": {"InstanceType": instance_type}}
    return str(call(client, "CreateComputeEnv", {"ComputeEnv": spec, "Placement": {"Zone": ZONE}}).EnvId)


def wait_env_created(client: batch_client.BatchClient, env_id: str, nodes: int, timeout: float = 60) -> None:
    """Until DescribeComputeEnv shows the environment's nodes all made and idle (CREATED)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = call(client, "DescribeComputeEnv", {"EnvId": env_id})
        if sum(node.ComputeNodeState == "CREATED" for node in view.ComputeNodeSet) == nodes:
            return
        time.sleep(0.02)
    raise BenchError(f"{env_id}: {nodes} nodes not CREATED within {timeout:.0f} s")


def submit_params(*tasks: dict[str, Any], **job: Any) -> dict[str, Any]:
    return {"Placement": {"Zone": ZONE}, "Job": {"JobName": "bench", "Tasks": list(tasks), **job}}


def submit(client: batch_client.BatchClient, *tasks: dict[str, Any], **job: Any) -> str:
    return str(call(client, "SubmitJob", submit_params(*tasks, **job)).JobId)


def wait_job(client: batch_client.BatchClient, job_id: str, timeout: float, interval: float = 0.02) -> str:
    """Poll DescribeJob until the job ends; the polling period bounds the timing error."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = str(call(client, "DescribeJob", {"JobId": job_id}).JobState)
        if state in ("SUCCEED", "FAILED"):
            return state
        time.sleep(interval)
    raise BenchError(f"job {job_id} not finished within {timeout:.0f} s")


def block_capacity(client: batch_client.BatchClient) -> str:
    """Occupy a 1-CPU server with a sleeping attempt so everything submitted after stays queued."""
    job_id = submit(client, task("blocker", "sleep 3600"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if str(call(client, "DescribeJob", {"JobId": job_id}).JobState) == "RUNNING":
            return job_id
        time.sleep(0.05)
    raise BenchError("the blocker job never started")


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: a value that was really observed, never an interpolation."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def timed_ms(fn: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples
