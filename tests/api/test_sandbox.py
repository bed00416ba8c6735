"""A task is a stranger's code: what a command tries against the server, its secrets and other tasks is
refused, what it starts ends with it, and its node's memory is its limit (docs/security.md).

Run as root with bubblewrap and the task user, as `make test` installs them; the servers here keep the
sandbox to itself (no shared test folder), except where a test needs to see what a command wrote.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.batch.v20170312.batch_client import BatchClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from batchyard.config.credentials import KeyPair, credentials_file, write_file
from batchyard.runner.node_sandbox import held_sandboxes
from conftest import (
    EXECUTOR,
    OTHER_ID,
    OTHER_KEY,
    SECRET_KEY,
    Server,
    call,
    decode_log,
    make_client,
    pids_running,
    running,
    stdout_of,
    submit,
    task,
    unique_sleep,
    wait_for,
    wait_job,
)

TASK_USER = "batchyard-task"
VICTIM_SECRET = "victim-envvar-secret-1f2e3d"
OTHER_LOG_SECRET = "other-job-log-secret-9a8b7c"


def _instance(client: BatchClient, job_id: str, name: str = "t") -> Any:
    return call(client, "DescribeTask", {"JobId": job_id, "TaskName": name}).TaskInstanceSet[0]


def _with_credentials_file(server: Server) -> Server:
    """Every account's keys in the data dir, as a server that generated them keeps them."""
    write_file(credentials_file(server.data_dir), [KeyPair(OTHER_ID, OTHER_KEY, "other")])
    return server


@pytest.fixture
def sealed(tmp_path: Path) -> Iterator[Server]:
    """A server whose commands see nothing of the test's folders."""
    yield from running(_with_credentials_file(Server(tmp_path / "data", share_test_folder=False)))


def _attacks(data: Path, other_job: str, server_pid: int) -> dict[str, str]:
    """What a stranger tries, each a shell command that succeeds only if the sandbox lets it."""
    return {
        "own-env": "env | grep -q BATCHYARD_SECRET",
        "parent-environ": f"grep -aq {SECRET_KEY} /proc/$PPID/environ",
        "init-environ": f"grep -aq {SECRET_KEY} /proc/1/environ",
        # [s] keeps the pattern from matching this very command line
        "any-environ": "cat /proc/*/environ | grep -aq -e BATCHYARD_SECRE[T] -e victim-envvar-secre[t]",
        "victim-process": "grep -aqs victim-sleep-marke[r] /proc/*/cmdline",
        "credentials": f"grep -q {OTHER_KEY} {data}/credentials.json",
        "database-read": f"cat {data}/batchyard.db",
        "database-write": f"echo x >> {data}/batchyard.db",
        "other-job-logs": f"cat {data}/runs/{other_job}/*",
        "other-job-logs-anywhere": f"grep -rqs other-job-log-secre[t] {data} /tmp /proc/1/cwd/",
        "write-etc": "touch /etc/batchyard-sandbox-probe",
        "write-usr": "touch /usr/bin/batchyard-sandbox-probe",
        "kill-server": f"kill -9 {server_pid}",
        "many-processes": '[ "$(ls /proc | grep -c "^[0-9]")" -gt 20 ]',
        "root": '[ "$(id -u)" = 0 ]',
    }


def _probe(attacks: dict[str, str]) -> str:
    """A command printing `LEAK <what>` for each attack that works and `refused <what>` for each that
    does not, then what it sees of itself."""
    lines = [
        f'if ( {check} ) >/dev/null 2>&1; then echo "LEAK {name}"; else echo "refused {name}"; fi'
        for name, check in attacks.items()
    ]
    lines += [
        'echo "user $(id -un)"',
        'echo "cwd $(pwd) home $HOME"',
        'echo made > here.txt && echo "wrote $(cat here.txt)"',
        'echo "fds $(ls /proc/self/fd | tr "\\n" " ")"',
        'echo "env $(env | cut -d= -f1 | sort | tr "\\n" " ")"',
    ]
    return "\n".join(lines)


def _attacked(server: Server, leave_out: tuple[str, ...] = ()) -> tuple[dict[str, str], str]:
    """Run the probe while another task runs with a secret in its EnvVars, after a job whose log holds
    a secret; return the attacks tried and what the probe printed."""
    client = make_client(server.endpoint)
    other = submit(client, task("t", f"echo {OTHER_LOG_SECRET}"))
    assert wait_job(client, other).JobState == "SUCCEED"
    victim_env = [{"Name": "VICTIM_SECRET", "Value": VICTIM_SECRET}]
    victim = submit(client, task("t", "sleep 60; : victim-sleep-marker", EnvVars=victim_env))
    wait_for(lambda: _instance(client, victim).TaskInstanceState == "RUNNING")
    assert server.process is not None
    attacks = _attacks(server.data_dir.resolve(), other, server.process.pid)
    attacks = {name: attack for name, attack in attacks.items() if name not in leave_out}
    probe = submit(client, task("t", _probe(attacks)))
    assert wait_job(client, probe).JobState == "SUCCEED"
    call(client, "TerminateJob", {"JobId": victim})
    return attacks, stdout_of(client, probe, "t")


def test_a_command_cannot_reach_secrets_the_server_or_other_tasks(sealed: Server) -> None:
    """Everything the issue saw a stranger do, refused: the server's key through /proc or its own
    environment, credentials.json, the SQLite store, other jobs' logs, another running task's EnvVars
    and processes, the system folders, the server's pid."""
    attacks, out = _attacked(sealed)

    assert "LEAK" not in out, out
    assert {f"refused {name}" for name in attacks} <= set(out.splitlines()), out
    seen = dict(line.split(" ", 1) for line in out.splitlines() if not line.startswith("refused "))
    assert seen["user"] == TASK_USER
    workdir = seen["cwd"].split(" home ")[0]
    assert seen["cwd"] == f"{workdir} home {workdir}"
    assert seen["wrote"] == "made", "the working folder is the command's to write"
    assert seen["fds"].split() == ["0", "1", "2", "3"], "nothing of the server's is inherited (3: ls's own)"
    batch = {"BATCH_JOB_ID", "BATCH_TASK_INSTANCE_INDEX", "BATCH_TASK_INSTANCE_NUM", "BATCH_TASK_NAME"}
    # A Slurm step adds its own variables (as on any Slurm node), and nothing else.
    slurm = ("SLURM", "SRUN_", "TMPDIR") if EXECUTOR == "slurm" else ()
    env = {name for name in seen["env"].split() if not name.startswith(slurm)}
    assert env == batch | {"HOME", "PATH", "PWD"}
    assert sealed.process is not None and sealed.process.poll() is None, "the server is alive"


@pytest.fixture
def unsandboxed(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path / "data", config="[sandbox]\nenabled = false\n", share_test_folder=False)
    yield from running(_with_credentials_file(server))


def test_the_same_attacks_work_without_the_sandbox(unsandboxed: Server) -> None:
    """The control: the probe's attacks are real (the harmful ones are left out)."""
    _, out = _attacked(unsandboxed, leave_out=("database-write", "kill-server"))

    leaks = {line.split()[1] for line in out.splitlines() if line.startswith("LEAK ")}
    secrets_read = {"any-environ", "victim-process", "credentials", "database-read", "other-job-logs"}
    assert secrets_read | {"many-processes", "root", "write-etc"} <= leaks, out


def test_loader_variables_reach_the_command_but_not_the_root_launcher(sealed: Server) -> None:
    """A task's LD_PRELOAD in the launcher (root, outside the sandbox) would run its code as root. The
    loader's debug output shows which programs the variable reached: the command's, never bwrap's."""
    client = make_client(sealed.endpoint)
    env_vars = [{"Name": "LD_DEBUG", "Value": "libs"}, {"Name": "GCONV_PATH", "Value": "/nowhere"}]
    job_id = submit(client, task("t", "echo $LD_DEBUG $GCONV_PATH; /bin/true", EnvVars=env_vars))

    assert wait_job(client, job_id).JobState == "SUCCEED"
    assert stdout_of(client, job_id, "t") == "libs /nowhere\n"
    stderr = call(client, "DescribeTaskLogs", {"JobId": job_id, "TaskName": "t"}).TaskInstanceLogSet[0]
    loaded = decode_log(stderr.StderrLog)
    assert "/bin/true" in loaded, "the command's own programs see LD_DEBUG"
    for launcher in ("bwrap", "setpriv", "/bin/sh"):
        assert launcher not in loaded, f"{launcher} ran with the task's LD_DEBUG"


def test_a_setsid_daemon_ends_with_its_attempt(server: Server, tmp_path: Path) -> None:
    """Started in a session of its own, it leaves the attempt's process group, never its PID namespace."""
    gate, sleeper = tmp_path / "gate", unique_sleep(300)
    command = f"setsid {sleeper} & while [ ! -e {gate} ]; do sleep 0.05; done"
    client = make_client(server.endpoint)
    job_id = submit(client, task("t", command))
    wait_for(lambda: pids_running(sleeper))

    gate.touch()

    assert wait_job(client, job_id).JobState == "SUCCEED"
    wait_for(lambda: not pids_running(sleeper), timeout=5)


def test_a_command_that_needs_more_than_its_instance_type_is_killed_and_told_why(sealed: Server) -> None:
    """S2.SMALL1 has 1 GiB: 1.5 GiB written is more than its node's cgroup allows (on Slurm, more
    than the allocation's memory, which the test cluster's accounting enforces: OverMemoryKill, at its
    next sample, so the hog holds it for a while)."""
    client = make_client(sealed.endpoint)
    hog = "python3 -c \"import time; data = b'x' * (1536 << 20); time.sleep(5); print(len(data))\""
    job_id = submit(client, task("t", hog))

    assert wait_job(client, job_id).JobState == "FAILED"
    view = _instance(client, job_id)
    assert view.ExitCode == 137
    assert "exceeded its instance type's memory (1 GiB)" in view.StateReason, view.StateReason
    # The logs hold what the command wrote; on Slurm, not what the step daemon says of the kill.
    logs = call(client, "DescribeTaskLogs", {"JobId": job_id, "TaskName": "t", "TaskInstanceIndexes": [0]})
    assert "slurmstepd" not in decode_log(logs.TaskInstanceLogSet[0].StderrLog)


def test_a_command_within_its_memory_runs_to_the_end(sealed: Server) -> None:
    client = make_client(sealed.endpoint)
    job_id = submit(client, task("t", "python3 -c \"data = b'x' * (256 << 20); print(len(data))\""))

    assert wait_job(client, job_id).JobState == "SUCCEED"
    assert stdout_of(client, job_id, "t") == f"{256 << 20}\n"


@pytest.mark.local_only  # a Slurm step's runner makes every attempt a sandbox of its own
@pytest.mark.parametrize("per_node", [True, False], ids=["kept", "per-attempt"])
def test_attempts_of_a_node_share_its_sandbox_until_one_leaves_something_in_it(
    tmp_path: Path, per_node: bool
) -> None:
    """On one node in turn: 0 leaves a SysV shared memory segment, 1 a file in /tmp, 2 and 3 look.

    Each prints its sandbox's identity (its mount namespace, and when its pid 1 started). 1 enters
    the sandbox 0 ran in, and does not see 0's segment: each attempt has an IPC namespace of its
    own. 1's file costs the node its kept sandbox, so 2 gets a fresh one, which 3 enters again, and
    neither sees the file.
    """
    config = f"[local]\ncpus = 1\nmemory_gib = 4\n[sandbox]\nper_node = {str(per_node).lower()}\n"
    server = Server(tmp_path / "data", config=config, share_test_folder=False)
    identity = 'echo "$(readlink /proc/self/ns/mnt) $(cut -d" " -f22 /proc/1/stat)"'
    segments = 'ipcs -m | grep -c "^0x" || :'
    command = (
        f'sleep 0.2; {identity}; case "$BATCH_TASK_INSTANCE_INDEX" in '
        "0) ipcmk -M 4096 >/dev/null ;; "
        f"1) {segments}; touch /tmp/left-behind ;; "
        f'*) {segments}; ls /tmp/left-behind 2>&1 | grep -c "No such" ;; esac'
    )
    with contextmanager(running)(server):
        client = make_client(server.endpoint)
        job_id = submit(client, task("t", command, TaskInstanceNum=4))
        assert wait_job(client, job_id).JobState == "SUCCEED"
        logs = call(client, "DescribeTaskLogs", {"JobId": job_id, "TaskName": "t"}).TaskInstanceLogSet

    by_index = sorted(logs, key=lambda log: log.TaskInstanceIndex)
    seen = [decode_log(log.StdoutLog).splitlines() for log in by_index]
    assert [lines[1:] for lines in seen] == [[], ["0"], ["0", "1"], ["0", "1"]], seen
    sandboxes = [lines[0] for lines in seen]
    if per_node:
        assert sandboxes[0] == sandboxes[1] != sandboxes[2] == sandboxes[3], sandboxes
    else:
        assert len(set(sandboxes)) == 4, sandboxes


@pytest.mark.local_only  # Slurm nodes keep no sandboxes
def test_a_node_sandbox_kept_before_a_restart_with_other_settings_ends_after_its_attempt(
    tmp_path: Path,
) -> None:
    """The attempt running in a node's kept sandbox outlives the server's crash and finishes; the
    server, restarted without kept sandboxes, takes that one back only to end it afterwards."""
    one_cpu = "[local]\ncpus = 1\nmemory_gib = 4\n"
    server = Server(tmp_path / "data", config=one_cpu, share_test_folder=False)
    nodes = str((server.data_dir / "runs" / "nodes").resolve())
    with contextmanager(running)(server):
        client = make_client(server.endpoint)
        job_id = submit(client, task("t", "sleep 3; echo done", TaskInstanceNum=2))
        wait_for(lambda: _instance(client, job_id).TaskInstanceState == "RUNNING")
        assert len(held_sandboxes(nodes)) == 1

        server.stop(signal.SIGKILL)
        server.config = one_cpu + "[sandbox]\nper_node = false\n"
        server.start()

        assert wait_job(client, job_id).JobState == "SUCCEED"
        assert stdout_of(client, job_id, "t") == "done\n"
        wait_for(lambda: not held_sandboxes(nodes), timeout=5)


@pytest.mark.local_only  # a Slurm step's SIGTERM reaches bwrap too (docs/cluster.md)
def test_terminate_job_gives_the_command_its_sigterm_before_the_kill(server: Server, tmp_path: Path) -> None:
    """bwrap outlives the SIGTERM, so the command's own trap runs and its exit is the command's."""
    ready, cleaned = tmp_path / "ready", tmp_path / "cleaned"
    command = f"trap 'sleep 0.3; touch {cleaned}; exit 7' TERM; touch {ready}; sleep 60 & wait"
    client = make_client(server.endpoint)
    job_id = submit(client, task("t", command))
    wait_for(ready.exists)

    call(client, "TerminateJob", {"JobId": job_id})

    assert wait_job(client, job_id).JobState == "FAILED"
    assert cleaned.exists(), "the trap ran to its end"


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ("[sandbox]\nenabled = false\n", "it is disabled in the configuration"),
        ('[sandbox]\nuser = "batchyard-no-such-user"\n', "the task user 'batchyard-no-such-user' does not"),
    ],
    ids=["disabled", "no-user"],
)
def test_without_a_sandbox_the_server_runs_and_says_loudly_what_is_not_isolated(
    tmp_path: Path, config: str, reason: str
) -> None:
    server = Server(tmp_path / "data", config=config, share_test_folder=False)
    with contextmanager(running)(server):
        client = make_client(server.endpoint)
        job_id = submit(client, task("t", "id -u"))
        assert wait_job(client, job_id).JobState == "SUCCEED"
        assert stdout_of(client, job_id, "t") == f"{os.geteuid()}\n", "the server's own user"
    log = server.log_file.read_text()
    assert f"WARNING batchyard.runner.sandbox: THE SANDBOX IS OFF: {reason}" in log, log
    assert "credentials.json" in log and "docs/security.md" in log


def test_without_a_sandbox_absolute_destination_paths_are_refused(unsandboxed: Server) -> None:
    """The flag reaches the submit checks: mounts at absolute paths need the sandbox."""
    client = make_client(unsandboxed.endpoint)
    mapping = {"SourcePath": "cos://batch-demo-1251783334/in/", "DestinationPath": "/data/input/"}
    with pytest.raises(TencentCloudSDKException, match="sandbox") as refused:
        submit(client, task("t", "true", InputMappings=[mapping]))
    assert "docs/security.md" in str(refused.value)
    with pytest.raises(TencentCloudSDKException, match="sandbox") as refused:
        submit(client, task("t", "true", RedirectLocalInfo={"StdoutLocalPath": "/logs/"}))
    assert refused.value.code == "InvalidParameterValue.LocalPath"
