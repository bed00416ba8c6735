"""What the Slurm executor relies on, shown with the exact command lines on a real cluster (Slurm 22.05).

A compute node is a *pilot*: a batch job named after the node that holds its CPUs and memory and runs
``sleep infinity``; each attempt is an ``srun --jobid`` step inside it. Timings are printed (``-rP``).
"""

from __future__ import annotations

import json
import os
import pwd
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from conftest import SlurmCluster as Cluster
from conftest import slurm_script as script

# What marks this service's jobs among a cluster's (the executor could put its environment's id there).
COMMENT = "batchyard-test"
TASK_USER = "batchyard-task"
T = TypeVar("T")


def pilot_argv(
    name: str, cpus: int = 1, memory: str = "512M", node: str = "", requeue: bool = False, user: str = ""
) -> list[str]:
    """``sbatch`` of a node's pilot. Its batch step holds no CPU that steps want (steps start at once
    beside it); ``--no-requeue`` makes a lost node's pilot end NODE_FAIL instead of pending again."""
    argv = ["sbatch", "--parsable", "--job-name", name, "--comment", COMMENT, "--partition", "batch"]
    argv += ["--nodes", "1", "--ntasks", "1", "--cpus-per-task", str(cpus), "--mem", memory]
    argv += ["--requeue" if requeue else "--no-requeue", "--output", "/dev/null", "--chdir", "/"]
    if node:
        argv += ["--nodelist", node]
    if user:  # root only: the pilot is the user's, and so must be its steps
        argv += ["--uid", user, "--gid", user]
    return [*argv, "--wrap", "exec sleep infinity"]


def srun_argv(job: str, *command: str, extra: tuple[str, ...] = ()) -> list[str]:
    """``srun`` of one step in a pilot: one task, run where the pilot is, exit status its command's."""
    return ["srun", "--jobid", job, "--ntasks", "1", "--chdir", "/", *extra, *command]


def wait_for(what: str, probe: Callable[[], T], done: Callable[[T], bool], timeout: float) -> tuple[T, float]:
    """Polls ``probe`` until ``done`` holds of its value; returns that value and the seconds it took."""
    start = time.monotonic()
    while True:
        value = probe()
        took = time.monotonic() - start
        if done(value):
            return value, took
        if took > timeout:
            raise AssertionError(f"{what}: not within {timeout} s (last seen: {value!r})")
        time.sleep(0.02)


def job_state(cluster: Cluster, job: str) -> str:
    done = cluster.run("squeue", "--noheader", "--states", "all", "--jobs", job, "--format", "%T")
    return done.stdout.strip() or done.stderr.strip()


def wait_state(cluster: Cluster, job: str, state: str, timeout: float = 15) -> float:
    """Seconds until job ``job`` is in ``state``."""
    return wait_state_in(cluster, job, (state,), timeout)


def wait_state_in(cluster: Cluster, job: str, states: tuple[str, ...], timeout: float) -> float:
    what = f"job {job} {' or '.join(states)}"
    return wait_for(what, lambda: job_state(cluster, job), lambda state: state in states, timeout)[1]


FINISHED = ("COMPLETED", "CANCELLED", "FAILED", "NODE_FAIL", "TIMEOUT", "OUT_OF_MEMORY", "PREEMPTED")


def node_state(cluster: Cluster, node: str) -> str:
    """The node's state as the controller has it now (sinfo's lags, by tens of seconds at times)."""
    shown = cluster.run("scontrol", "show", "node", node).stdout
    found = re.search(r" State=(\S+)", shown)
    return found[1] if found else shown


def steps_of(cluster: Cluster, job: str) -> list[str]:
    """The ids (``J.S``) of the job's srun steps, its batch step left out."""
    done = cluster.run("squeue", "--noheader", "--steps", "--jobs", job, "--format", "%i")
    return [step for step in done.stdout.split() if step.split(".")[-1].isdigit()]


def squeue_json(cluster: Cluster, *args: str) -> dict[str, dict[str, Any]]:
    """Every job the controller still knows, in one call, by id: ``--json`` ignores filters."""
    done = cluster.run("squeue", "--json", *args)
    assert done.returncode == 0, done.stderr
    return {str(job["job_id"]): job for job in json.loads(done.stdout)["jobs"]}


def unique_sleep() -> str:
    """A sleep that no other process on this machine runs (see ``sleeping``)."""
    return f"300.{secrets.randbelow(10**8):08d}1"


def sleeping(seconds: str) -> list[int]:
    """The pids of the processes that run ``sleep seconds`` (srun runs it by its full path)."""
    wanted = {f"{sleep}\0{seconds}\0".encode() for sleep in ("sleep", shutil.which("sleep"))}
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    if f.read() in wanted:
                        found.append(int(entry.name))
            except OSError:
                continue  # gone meanwhile
    return found


@dataclass
class Pilots:
    """Pilots of one test: named ``<prefix>-<n>``; all cancelled when it ends."""

    cluster: Cluster
    prefix: str = field(default_factory=lambda: f"bytest-{secrets.token_hex(4)}")
    jobs: list[str] = field(default_factory=list)
    steps: list[subprocess.Popen[str]] = field(default_factory=list)

    def submit(self, **options: Any) -> str:
        done = self.cluster.run(*pilot_argv(f"{self.prefix}-{len(self.jobs)}", **options))
        assert done.returncode == 0, done.stderr
        self.jobs.append(done.stdout.strip())
        return self.jobs[-1]

    def start(self, **options: Any) -> str:
        """A pilot, once RUNNING: ``srun --jobid`` fails on a pending job (it does not wait)."""
        job = self.submit(**options)
        wait_state(self.cluster, job, "RUNNING")
        return job

    def step(self, job: str, *command: str, extra: tuple[str, ...] = ()) -> subprocess.Popen[str]:
        """A step left running; returns once the controller lists it."""
        before = set(steps_of(self.cluster, job))
        process = subprocess.Popen(
            srun_argv(job, *command, extra=extra),
            env=self.cluster.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.steps.append(process)
        wait_for(f"a step of {job}", lambda: set(steps_of(self.cluster, job)) - before, bool, 10)
        return process

    def cancel_all(self) -> None:
        if self.jobs:
            self.cluster.run("scancel", *self.jobs)
            for job in self.jobs:
                wait_state_in(self.cluster, job, FINISHED, 30)
        for process in self.steps:
            try:
                process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


@pytest.fixture
def pilots(cluster: Cluster) -> Iterator[Pilots]:
    pilots = Pilots(cluster)
    try:
        yield pilots
    finally:
        pilots.cancel_all()


def test_the_cluster_is_on_loopback_and_in_its_folder(cluster: Cluster) -> None:
    # The session's cluster: earlier tests' allocations may still be completing on a node.
    sinfo = cluster.run("sinfo", "--noheader", "--Node", "--format", "%N %P %c %m %T")
    nodes = [line.rsplit(" ", 1) for line in sinfo.stdout.splitlines()]
    assert [node for node, _ in nodes] == ["node1 batch* 4 8192", "node2 batch* 4 8192"]
    assert all(state in ("idle", "completing", "mixed", "allocated") for _, state in nodes), nodes
    conf = cluster.conf.read_text()
    ports = {int(port) for port in re.findall(r"^(?:SlurmctldPort=|NodeName=.* Port=)(\d+)", conf, re.M)}
    assert len(ports) == 3
    listening: dict[int, set[str]] = {}  # port: the addresses listening on it
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port = local.rsplit(":", 1)
            if state == "0A" and int(port, 16) in ports:  # LISTEN
                listening.setdefault(int(port, 16), set()).add(address)
    assert listening == {port: {"0100007F"} for port in ports}  # 127.0.0.1, and nothing else
    paths = re.findall(r"=(/[^\s,]*)", conf)
    assert paths and all(path.startswith(f"{cluster.dir}/") for path in paths if path != "/bin/true")


def test_a_pilot_holds_its_cpus_and_memory(cluster: Cluster, pilots: Pilots) -> None:
    job = pilots.start(cpus=3, memory="1G")
    seen = squeue_json(cluster)[job]
    assert (seen["job_state"], seen["cpus"], seen["memory_per_node"]) == ("RUNNING", 3, 1024)
    assert seen["nodes"] in cluster.nodes and seen["batch_host"] == seen["nodes"]
    # Its node has them allocated (at once here; sinfo's %C lags by up to a few seconds).
    node = cluster.run("scontrol", "show", "node", seen["nodes"]).stdout
    assert "CPUAlloc=3 " in node and " AllocTRES=cpu=3,mem=1G" in node
    # The next pilot that cannot fit beside it goes to the other node.
    other = pilots.start(cpus=2)
    assert squeue_json(cluster)[other]["nodes"] != seen["nodes"]
    # One that fits nowhere waits, PENDING, for Resources once a scheduling pass has seen it.
    waiting = pilots.submit(cpus=4)
    reason, _ = wait_for(
        "a reason to wait", lambda: squeue_json(cluster)[waiting]["state_reason"], lambda r: r != "None", 5
    )
    assert (reason, job_state(cluster, waiting)) == ("Resources", "PENDING")


def test_steps_run_in_a_pilot_one_at_a_time(cluster: Cluster, pilots: Pilots) -> None:
    job = pilots.start(cpus=2, memory="1G")
    # A step takes all of the pilot's CPUs and memory by default: that is what it can use.
    first = pilots.step(job, "sleep", "1")
    detail = cluster.run("scontrol", "show", "step", steps_of(cluster, job)[0]).stdout
    assert "TRES=cpu=2,mem=1G,node=1" in detail
    # So a second step waits until the first is done...
    started = time.monotonic()
    second = cluster.run(*srun_argv(job, "true"))
    assert second.returncode == 0 and first.wait(timeout=10) == 0
    assert time.monotonic() - started > 0.5
    assert (
        f"Job {job} step creation temporarily disabled, retrying (Requested nodes are busy)" in second.stderr
    )
    # ...unless it overlaps (--overlap), sharing CPUs and memory with the steps already running.
    third = pilots.step(job, "sleep", "1")
    started = time.monotonic()
    overlapping = cluster.run(*srun_argv(job, "true", extra=("--overlap",)))
    assert overlapping.returncode == 0 and time.monotonic() - started < 1.0 and third.poll() is None
    third.wait(timeout=10)


def test_a_step_is_held_to_its_pilots_memory(cluster: Cluster, pilots: Pilots) -> None:
    job = pilots.start(memory="256M")
    more = cluster.run(*srun_argv(job, "true", extra=("--mem", "512M")))
    assert more.returncode == 1
    assert "Unable to create step for job" in more.stderr
    assert "Memory required by task is not available" in more.stderr
    hog = [sys.executable, "-c", "import time; b = bytearray(400 * 2**20); time.sleep(20)"]
    for extra in ((), ("--overlap",)):  # an overlapping step has the same limit
        started = time.monotonic()
        done = cluster.run(*srun_argv(job, *hog, extra=extra))
        assert done.returncode == 137, done.stderr
        assert re.search(
            r"StepId=\d+\.\d+ exceeded memory limit \(\d+ > 268435456\), being killed", done.stderr
        )
        assert time.monotonic() - started < 10
    fits = cluster.run(*srun_argv(job, sys.executable, "-c", "b = bytearray(100 * 2**20)"))
    assert fits.returncode == 0, fits.stderr


def test_srun_returns_the_commands_exit_status_and_output(
    cluster: Cluster, pilots: Pilots, tmp_path: Path
) -> None:
    job = pilots.start()
    command = ("sh", "-c", "echo out; echo err >&2; exit 3")
    # To files, which slurmstepd opens on the node (as the step's user; --open-mode=append to add)...
    out, err = tmp_path / "stdout.log", tmp_path / "stderr.log"
    to_files = cluster.run(*srun_argv(job, *command, extra=("--output", str(out), "--error", str(err))))
    assert to_files.returncode == 3
    assert (out.read_text(), err.read_text(), to_files.stdout) == ("out\n", "err\n", "")
    # srun's own lines stay on srun's stderr.
    assert re.fullmatch(r"srun: error: node\d: task 0: Exited with exit code 3\n", to_files.stderr)
    # ...or to srun's own descriptors, where its lines mix with the command's stderr (--quiet does not
    # silence that one).
    to_caller = cluster.run(*srun_argv(job, *command, extra=("--quiet",)))
    assert (to_caller.returncode, to_caller.stdout) == (3, "out\n")
    assert "err\n" in to_caller.stderr and "Exited with exit code 3" in to_caller.stderr
    # A command killed by a signal: 128 + its number; one that cannot be executed: 2, not 127.
    killed = cluster.run(*srun_argv(job, "sh", "-c", "kill -KILL $$"))
    terminated = cluster.run(*srun_argv(job, "sh", "-c", "kill -TERM $$"))
    missing = cluster.run(*srun_argv(job, "/nonexistent/command"))
    assert (killed.returncode, terminated.returncode, missing.returncode) == (137, 143, 2)
    assert "execve(): /nonexistent/command: No such file or directory" in missing.stderr


def test_squeue_json_lists_every_job_in_one_call(cluster: Cluster, pilots: Pilots) -> None:
    running = pilots.start()
    cancelled = pilots.start()
    cluster.run("scancel", cancelled)
    wait_state(cluster, cancelled, "CANCELLED")
    not_ours = (
        "sbatch",
        "--parsable",
        "--job-name",
        "not-ours",
        "--output",
        "/dev/null",
        "--wrap",
        "sleep 60",
    )
    stranger = cluster.run(*not_ours).stdout.strip()
    pilots.jobs.append(stranger)  # to be cancelled
    started = time.monotonic()
    jobs = squeue_json(cluster)
    took = time.monotonic() - started
    ours = {job_id: job for job_id, job in jobs.items() if job["name"].startswith(f"{pilots.prefix}-")}
    assert set(ours) == {running, cancelled} and stranger in jobs
    assert {job_id: job["job_state"] for job_id, job in ours.items()} == {
        running: "RUNNING",
        cancelled: "CANCELLED",  # finished jobs stay listed for MinJobAge (300 s)
    }
    assert all(job["comment"] == COMMENT for job in ours.values())
    assert ours[running]["nodes"] in cluster.nodes
    assert ours[running]["requeue"] is False and ours[running]["batch_flag"] is True
    # --json ignores every filter: the stranger is there despite --name (select ours by name or comment).
    assert stranger in squeue_json(cluster, "--name", f"{pilots.prefix}-0", "--states", "RUNNING")
    # The text form filters (exact names, states...) and shows finished jobs with --states all.
    fields = "%i|%j|%T|%N|%k|%r"
    text = cluster.run("squeue", "--noheader", "--states", "all", "--format", fields).stdout
    listed = {line.split("|")[0]: line.split("|") for line in text.splitlines()}
    assert listed[running][1:5] == [f"{pilots.prefix}-0", "RUNNING", jobs[running]["nodes"], COMMENT]
    assert listed[cancelled][2] == "CANCELLED"
    print(f"squeue --json: {1000 * took:.0f} ms for {len(jobs)} jobs")


def test_scancel_ends_a_step_or_a_pilot(cluster: Cluster, pilots: Pilots) -> None:
    job = pilots.start()
    sleep = unique_sleep()
    step = pilots.step(job, "sleep", sleep)
    (step_id,) = steps_of(cluster, job)
    wait_for("the step's sleep", lambda: sleeping(sleep), bool, 5)
    cluster.run("scancel", step_id)  # one step: SIGKILL
    assert step.wait(timeout=10) == 137
    assert job_state(cluster, job) == "RUNNING" and steps_of(cluster, job) == []
    step = pilots.step(job, "sleep", sleep)
    cluster.run("scancel", job)  # the pilot and its steps: SIGTERM, SIGKILL after KillWait
    assert step.wait(timeout=10) == 143
    assert "CANCELLED AT" in (step.stderr.read() if step.stderr else "")
    wait_state(cluster, job, "CANCELLED")
    assert not sleeping(sleep)


def test_a_lost_node_fails_its_pilots(cluster: Cluster, pilots: Pilots) -> None:
    """A node's host is lost (its slurmd and steps killed): its pilots fail once the controller has
    found it DOWN. (A host back before that, its slurmd restarted at once, leaves its pilots RUNNING,
    and their sruns waiting, until the node's next full registration, every 20 pings: 20-40 s here.)"""
    node = cluster.nodes[-1]
    lost = pilots.start(node=node)
    requeued = pilots.start(node=node, requeue=True)
    sleep = unique_sleep()
    step = pilots.step(lost, "sleep", sleep)
    wait_for("the step's sleep", lambda: sleeping(sleep), bool, 5)  # launched, not only created
    started = time.monotonic()
    cluster.kill_node(node)
    try:
        wait_state(cluster, lost, "NODE_FAIL", timeout=40)
        down = time.monotonic() - started
        assert node_state(cluster, node) == "DOWN+NOT_RESPONDING"
        # The step's srun says so, but exits 0: its exit status alone cannot tell a lost node. (A step
        # still being launched when the node went fails otherwise: "Task launch for StepId=J.S failed
        # on node ...: Zero Bytes were transmitted or received", exit status 141.)
        assert step.wait(timeout=10) == 0
        assert f"srun: error: Node failure on {node}" in (step.stderr.read() if step.stderr else "")
        # A pilot that may be requeued (Slurm's default, JobRequeue=1) pends again (held for a while).
        assert job_state(cluster, requeued) == "PENDING"
    finally:
        cluster.start_node(node)
    # The node is back, IDLE, as soon as its slurmd is: ReturnToService=2, no `scontrol update` needed.
    assert node_state(cluster, node) == "IDLE"
    print(f"killed slurmd → pilot NODE_FAIL, node DOWN: {down:.1f} s (SlurmdTimeout=5, MessageTimeout=3)")


def test_steps_as_the_task_user(cluster: Cluster, pilots: Pilots) -> None:
    try:
        user = pwd.getpwnam(TASK_USER)
    except KeyError:
        pytest.fail(f"no user {TASK_USER}: scripts/install-system-deps makes it")
    me = f"uid={user.pw_uid}({TASK_USER}) gid={user.pw_gid}({TASK_USER}) groups={user.pw_gid}({TASK_USER})"
    root_pilot = pilots.start()
    # In root's pilot, srun --uid is refused; the step drops to the user itself.
    refused = cluster.run(*srun_argv(root_pilot, "id", extra=("--uid", TASK_USER)))
    assert refused.returncode == 1
    assert f"Unable to create step for job {root_pilot}: Access/permission denied" in refused.stderr
    drop = ("setpriv", "--reuid", TASK_USER, "--regid", TASK_USER, "--clear-groups", "id")
    assert cluster.run(*srun_argv(root_pilot, *drop)).stdout.strip() == me
    # A pilot of the user (sbatch --uid --gid as root) takes only its steps: --uid with the same --gid.
    user_pilot = pilots.start(user=TASK_USER)
    assert squeue_json(cluster)[user_pilot]["user_name"] == TASK_USER
    as_root = cluster.run(*srun_argv(user_pilot, "id"))
    assert "Access/permission denied" in as_root.stderr
    as_user = cluster.run(*srun_argv(user_pilot, "id", extra=("--uid", TASK_USER, "--gid", TASK_USER)))
    assert as_user.stdout.strip() == me
    # Without --gid, srun keeps root's group, which the pilot's credential does not allow.
    no_gid = cluster.run(*srun_argv(user_pilot, "id", extra=("--uid", TASK_USER)))
    assert no_gid.returncode != 0 and "Invalid job credential" in no_gid.stderr


def test_how_long_pilots_and_steps_take(cluster: Cluster, pilots: Pilots) -> None:
    to_run = []
    for _ in range(4):
        started = time.monotonic()
        job = pilots.submit(memory="256M")
        wait_state(cluster, job, "RUNNING")
        to_run.append(time.monotonic() - started)
    steps = []
    for _ in range(20):
        started = time.monotonic()
        assert cluster.run(*srun_argv(job, "true")).returncode == 0
        steps.append(time.monotonic() - started)
    pilot_ms = [round(1000 * took) for took in to_run]
    step_ms = [round(1000 * took) for took in steps]
    print(f"sbatch → RUNNING: median {statistics.median(pilot_ms)} ms of {pilot_ms}")
    print(f"srun step (true) in a pilot: median {statistics.median(step_ms)} ms, max {max(step_ms)} ms")
    # Pilots start on the controller's next scheduling pass, at most a second apart.
    assert statistics.median(to_run) < 3 and statistics.median(steps) < 1


def test_two_clusters_never_meet(cluster: Cluster) -> None:
    other = Cluster(Path(tempfile.mkdtemp(prefix="batchyard-slurm-tests-")), ("node1",))
    try:
        script("start", str(other.dir), "--nodes", "1", "--cpus", "2", "--memory-mb", "1024")
        try:
            sinfo = other.run("sinfo", "--noheader", "--Node", "--format", "%N %P %T %c %m").stdout
            assert sinfo.splitlines() == ["node1 batch* idle 2 1024"]
            job = other.run(*pilot_argv("elsewhere", memory="256M")).stdout.strip()
            assert job == "1" and squeue_json(other)[job]["name"] == "elsewhere"  # its own numbers...
            assert "elsewhere" not in {j["name"] for j in squeue_json(cluster).values()}  # ...unseen here
            assert cluster.conf.read_text() != other.conf.read_text()
        finally:
            script("stop", str(other.dir))
    finally:
        shutil.rmtree(other.dir, ignore_errors=True)
