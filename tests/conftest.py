"""Fixtures that start the real server (a `batchyard serve` process) and talk to it with the official SDK."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from tencentcloud.batch.v20170312 import batch_client, models
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from batchyard.executors.slurm.executor import cancel_pilots
from batchyard.runner.cgroups import discard_node_cgroups
from batchyard.runner.wrapper import kill_wrappers_under
from batchyard.store.database import Database

SECRET_ID = "AKIDbatchyardtest0000000000000000000"
SECRET_KEY = "batchyardtestsecretkey0000000000"
REGION = "ap-guangzhou"
ZONE = "ap-guangzhou-3"
# A second account's key pair, for tests that one account never sees another's resources.
OTHER_ID = "AKIDbatchyardother000000000000000000"
OTHER_KEY = "batchyardothersecretkey000000000"
# Where the servers of this run put compute nodes: "local" (this machine), or "slurm": a real cluster
# on loopback that the session starts (`make test` runs the job suites once more that way).
EXECUTOR = os.environ.get("BATCHYARD_TEST_EXECUTOR", "local")
SLURM_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "slurm-cluster"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running `batchyard serve` with its data dir; restartable to test durability."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    config: str = ""  # TOML overriding the server's defaults
    # Tests poll as fast as they like; the rate limits themselves are tested with this set.
    rate_limited: bool = False
    # Given both, the server speaks HTTPS with this certificate (self-signed, so clients trust it directly).
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Commands may write in the tests' folders, where tests look for what they wrote: the sandbox shares
    # pytest's session folder with them (the data dir inside stays hidden). Off for tests that configure
    # the sandbox themselves.
    share_test_folder: bool = True
    executor: str = EXECUTOR  # where its compute nodes go: "local", or "slurm" (the session's cluster)
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        """Where the server's output goes, across restarts."""
        return self.data_dir.parent / f"server-{self.port}.log"

    @property
    def scheme(self) -> str:
        return "http" if self.tls_cert is None else "https"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.endpoint}"

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What an HTTP client must trust to reach this server: the usual CAs, or its own certificate."""
        return True if self.tls_cert is None else ssl.create_default_context(cafile=self.tls_cert)

    def start(self) -> None:
        env = {
            **os.environ,
            **SLURM_ENV,
            "BATCHYARD_SECRET_ID": SECRET_ID,
            "BATCHYARD_SECRET_KEY": SECRET_KEY,
            **self.extra_env,
        }
        log = self.log_file.open("ab")
        argv = [sys.executable, "-m", "batchyard", "serve", "--port", str(self.port)]
        argv += ["--data-dir", str(self.data_dir)]
        config = self.config if self.rate_limited else self.config + "\n[rate_limits]\nenabled = false\n"
        if self.share_test_folder:
            self.data_dir.parent.chmod(0o1777)  # commands run as the unprivileged task user
            config = f"sandbox.shared = [{json.dumps(str(_session_folder(self.data_dir)))}]\n{config}"
        config = f"executor = {json.dumps(self.executor)}\n{config}"
        config_file = self.data_dir.parent / f"config-{self.port}.toml"
        config_file.write_text(config)
        argv += ["--config", str(config_file)]
        if self.tls_cert is not None:
            argv += ["--tls-cert", str(self.tls_cert)]
        if self.tls_key is not None:
            argv += ["--tls-key", str(self.tls_key)]
        self.process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, umask=0o022)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {log.name}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1, verify=self.verify).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not become healthy within 30 s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)
        self.process = None


def _session_folder(path: Path) -> Path:
    """pytest's folder for this session (``/tmp/pytest-of-<user>/pytest-<n>``), which holds every test's
    own folder, else the folder of ``path``."""
    return next((p for p in path.parents if p.parent.name.startswith("pytest-of-")), path.parent)


@pytest.fixture(scope="session", autouse=True)
def _open_to_the_task_user(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Sandboxed commands run as an unprivileged user and write where tests look: into the session's
    folders (shared with them, see ``Server``). So every folder pytest makes for a test is open to all
    (pytest makes them 0700), and so is what the tests make in them."""
    make = pytest.TempPathFactory.mktemp

    def mktemp(factory: pytest.TempPathFactory, basename: str, numbered: bool = True) -> Path:
        path = make(factory, basename, numbered)
        path.chmod(0o1777)
        return path

    tmp_path_factory.getbasetemp().chmod(0o755)
    umask = os.umask(0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pytest.TempPathFactory, "mktemp", mktemp)
        yield
    os.umask(umask)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A migrated store of its own in the test's folder, for tests below the API."""
    database = Database(f"sqlite:///{tmp_path / 'store.db'}")
    database.migrate()
    yield database
    database.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    yield from running(Server(tmp_path / "data"))


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for a whole module, for tests that do not disturb each other."""
    yield from running(Server(tmp_path_factory.mktemp("module") / "data"))


@pytest.fixture(scope="module")
def sdk(srv: Server) -> batch_client.BatchClient:
    return make_client(srv.endpoint)


def running(srv: Server) -> Iterator[Server]:
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        kill_wrappers_under(str(srv.data_dir))  # attempts outlive a stopped server by design
        discard_node_cgroups(srv.data_dir)
        if SLURM_ENV:  # and so do a cluster's allocations
            cancel_pilots((srv.data_dir / "runs").resolve(), {**os.environ, **SLURM_ENV})


@dataclass(frozen=True)
class SlurmCluster:
    """A cluster of scripts/slurm-cluster (munged, slurmctld, a slurmd per node; root only): its files
    are all in ``dir``, its nodes node1..nodeN (4 CPUs and 8 GB each) in ``partition``, the default."""

    dir: Path
    nodes: tuple[str, ...]
    partition: str = "batch"

    @property
    def conf(self) -> Path:
        return self.dir / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        """What Slurm's commands need to reach this cluster: this process's environment with SLURM_CONF,
        and without the SLURM_* variables of a job that this process might itself be running in."""
        env = {name: value for name, value in os.environ.items() if not name.startswith("SLURM_")}
        return {**env, "SLURM_CONF": str(self.conf)}

    def run(
        self, *argv: str, timeout: float = 60, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Runs a command (``sbatch``, ``srun`` …) against this cluster, capturing its output as text."""
        return subprocess.run(
            argv, env=self.env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )

    def kill_node(self, name: str) -> None:
        """The node's host is lost: its slurmd, its slurmstepds and all they run get SIGKILL."""
        slurm_script("kill-node", str(self.dir), name)

    def start_node(self, name: str) -> None:
        """Starts the node's slurmd again and waits until the controller has the node back (not DOWN)."""
        slurm_script("start-node", str(self.dir), name)


# What every server of the session needs to reach the session's cluster (SLURM_CONF), once it runs.
SLURM_ENV: dict[str, str] = {}
SLURM_NODES = 2


def slurm_script(*args: str) -> str:
    """Runs scripts/slurm-cluster; its output is the error when it fails."""
    done = subprocess.run(
        [str(SLURM_SCRIPT), *args], capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        command = " ".join(["scripts/slurm-cluster", *args])
        raise RuntimeError(f"{command} exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


@pytest.fixture(scope="session")
def slurm_cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SlurmCluster]:
    """A cluster of two nodes for the session; it fails (never skips) where one cannot be started. Its
    folder is not pytest's, whose parent only root may enter (munged wants every folder above its
    socket open to all); when a test failed, its logs are kept in pytest's, as ``slurm-cluster-logs``."""
    cluster = SlurmCluster(
        Path(tempfile.mkdtemp(prefix="batchyard-slurm-tests-")),
        tuple(f"node{i}" for i in range(1, SLURM_NODES + 1)),
    )
    try:
        started = slurm_script("start", str(cluster.dir), "--nodes", str(SLURM_NODES))
    except BaseException:
        shutil.rmtree(cluster.dir, ignore_errors=True)
        raise
    assert started.strip() == f"export SLURM_CONF={cluster.conf}", started
    SLURM_ENV["SLURM_CONF"] = str(cluster.conf)
    try:
        yield cluster
    finally:
        SLURM_ENV.clear()
        try:
            slurm_script("stop", str(cluster.dir))
        finally:
            if request.session.testsfailed:
                logs = tmp_path_factory.getbasetemp() / "slurm-cluster-logs"
                shutil.copytree(cluster.dir / "log", logs, dirs_exist_ok=True)
            shutil.rmtree(cluster.dir, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On another executor, tests of what only the local one does are deselected, and counted so."""
    if EXECUTOR == "local":
        return
    left_out = [item for item in items if item.get_closest_marker("local_only")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker("local_only")]


@pytest.fixture(scope="session", autouse=EXECUTOR == "slurm")
def _servers_on_slurm(request: pytest.FixtureRequest) -> None:
    """With BATCHYARD_TEST_EXECUTOR=slurm, every server of the session puts its nodes on the cluster."""
    if EXECUTOR == "slurm":
        request.getfixturevalue("slurm_cluster")


def unique_sleep(seconds: int) -> str:
    """A ``sleep`` command for a little more than ``seconds`` that no other process on this machine runs.

    A sandboxed command has a PID namespace of its own, so the pids it could write down mean nothing out
    here: tests find its processes by such a command line instead (``pids_running``).
    """
    return f"sleep {seconds}.{secrets.randbelow(10**8):08d}1"


def pids_running(command: str) -> list[int]:
    """Pids of the live processes on this machine whose arguments are exactly the words of ``command``."""
    argv = command.replace(" ", "\0").encode() + b"\0"
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    if f.read() == argv:
                        found.append(int(entry.name))
            except OSError:
                continue  # gone meanwhile
    return found


def make_client(
    endpoint: str, region: str = REGION, keys: tuple[str, str] = (SECRET_ID, SECRET_KEY), **profile: Any
) -> batch_client.BatchClient:
    http = HttpProfile(endpoint=endpoint, protocol="http", reqTimeout=30)
    for key, value in profile.pop("http", {}).items():
        setattr(http, key, value)
    client_profile = ClientProfile(httpProfile=http, **profile)
    return batch_client.BatchClient(credential.Credential(*keys), region, client_profile)


def two_account_server(data_dir: Path, config: str) -> Server:
    """A server whose key pairs belong to two accounts (the environment's pair is left out)."""
    data_dir.mkdir(parents=True)
    keys = [
        {"secret_id": SECRET_ID, "secret_key": SECRET_KEY, "account": "default"},
        {"secret_id": OTHER_ID, "secret_key": OTHER_KEY, "account": "other"},
    ]
    (data_dir / "credentials.json").write_text(json.dumps({"keys": keys}))
    return Server(data_dir, config=config, extra_env={"BATCHYARD_SECRET_ID": "", "BATCHYARD_SECRET_KEY": ""})


def example_request(text: str) -> tuple[str, dict[str, Any]]:
    """(method, params) of a tccli examples.json input: a flattened GET query, or a POST JSON body after
    the headers; GET values stay strings, as the API layer receives them."""
    if text.startswith("POST"):
        params: dict[str, Any] = json.loads(text[text.index("\n{") :])
        return "POST", params
    root: dict[str, Any] = {}
    for pair in text.split("?", 1)[1].split("&"):
        key, _, value = pair.strip().partition("=")
        if key in ("Action", "<公共请求参数>"):  # the action and the common-parameters placeholder
            continue
        *parents, leaf = key.split(".")
        node = root
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    nested: dict[str, Any] = _lists_from_indexes(root)
    return "GET", nested


def _lists_from_indexes(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {key: _lists_from_indexes(value) for key, value in node.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


@pytest.fixture
def client(server: Server) -> batch_client.BatchClient:
    return make_client(server.endpoint)


def call(client: batch_client.BatchClient, action: str, params: dict[str, Any]) -> Any:
    """Call an action with a plain dict, the way users of the SDK often do."""
    request = getattr(models, f"{action}Request")()
    request.from_json_string(json.dumps(params))
    return getattr(client, action)(request)


def decode_log(value: str) -> str:
    """A DescribeTaskLogs log: a data URI of base64 text, as in the official example."""
    prefix, _, payload = value.partition("base64,")
    assert prefix == "data:text/plain;charset=utf-8;"
    return base64.b64decode(payload).decode()


def stdout_of(client: batch_client.BatchClient, job_id: str, task_name: str, index: int = 0) -> str:
    params = {"JobId": job_id, "TaskName": task_name, "TaskInstanceIndexes": [index]}
    return decode_log(call(client, "DescribeTaskLogs", params).TaskInstanceLogSet[0].StdoutLog)


def task(name: str, command: str, **extra: Any) -> dict[str, Any]:
    return {
        "TaskName": name,
        "TaskInstanceNum": extra.pop("TaskInstanceNum", 1),
        "Application": {"DeliveryForm": "LOCAL", "Command": command},
        "ComputeEnv": {"EnvType": "MANAGED", "EnvData": {"InstanceType": "S2.SMALL1"}},
        **extra,
    }


def submit(client: batch_client.BatchClient, *tasks: dict[str, Any], **job: Any) -> str:
    params = {"Placement": {"Zone": ZONE}, "Job": {"JobName": "test", "Tasks": list(tasks), **job}}
    return str(call(client, "SubmitJob", params).JobId)


def wait_for(predicate: Callable[[], Any], timeout: float = 30, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def wait_job(client: batch_client.BatchClient, job_id: str, timeout: float = 60) -> Any:
    """Wait until the job is finished and return its DescribeJob response."""

    def done() -> Any:
        job = call(client, "DescribeJob", {"JobId": job_id})
        return job if job.JobState in ("SUCCEED", "FAILED") else None

    return wait_for(done, timeout)


@dataclass(frozen=True)
class MotoS3:
    """A moto S3 server on loopback: a real S3-compatible HTTP endpoint for storage tests."""

    url: str
    key_id: str = "testing"
    secret: str = "testing"
    region: str = "us-east-1"

    def client(self) -> Any:
        import boto3  # slow to import; only the tests that use S3 pay for it

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.key_id,
            aws_secret_access_key=self.secret,
            region_name=self.region,
        )

    def new_bucket(self, name: str | None = None) -> str:
        """Create a bucket (a fresh `<hex>-1250000000` COS-style name unless given) and return its name."""
        bucket = name or f"t{os.urandom(6).hex()}-1250000000"
        client = self.client()
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=bucket)
        return bucket


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    """One `moto_server` for the session; a server that cannot start fails the tests, never skips them."""
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("ab")
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_moto(process, f"http://127.0.0.1:{port}", log.name)
        yield MotoS3(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_for_moto(process: subprocess.Popen[bytes], url: str, log_name: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}; see {log_name}")
        try:
            if httpx.get(url + "/moto-api/", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"moto_server did not answer within 30 s; see {log_name}")
