"""The sandbox's command line, the wrapper running through it, node cgroups, and how their endings are
classified: run for real (as root, with bubblewrap and the task user, as `make test` installs them)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from batchyard.config.settings import SandboxSettings
from batchyard.domain.attempts import Failure
from batchyard.runner.cgroups import find_node_cgroups
from batchyard.runner.exits import ExitJournals, journal_path
from batchyard.runner.outcome import classify_exit
from batchyard.runner.sandbox import Bind, Sandbox, find_sandbox
from batchyard.runner.workspace import Workspace
from batchyard.runner.wrapper import CGROUP_FAILURE_SIGNAL, wrapper_argv


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    """One whose shared folder holds a data dir, as the tests' servers have."""
    (tmp_path / "shared/data").mkdir(parents=True)
    found, why = find_sandbox(
        SandboxSettings(shared=[str(tmp_path / "shared")]), [str(tmp_path / "shared/data")]
    )
    assert found is not None, why
    return found


def _pairs(argv: list[str], option: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == option]


def test_the_data_dir_is_covered_where_a_shared_folder_holds_it_and_binds_come_after_the_workdir(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    workdir = str(tmp_path / "shared/data/runs/nodes/n1")
    binds = (Bind("/srv/in", "/data/input", False), Bind("/srv/out", "/data/output", True))

    argv = sandbox.argv(workdir, binds)

    order = [argv.index(arg) for arg in ("/usr", "/proc", f"{tmp_path}/shared", f"{tmp_path}/shared/data")]
    assert order == sorted(order), "system, private, shared, then the hidden data dir covered"
    assert _pairs(argv, "--tmpfs")[-1] == f"{tmp_path}/shared/data"
    assert argv.index(workdir) < argv.index("/srv/in") < argv.index("/srv/out")
    assert _pairs(argv, "--ro-bind")[-1] == "/srv/in" and _pairs(argv, "--bind")[-1] == "/srv/out"
    assert argv[-2:] == ["/bin/sh", "-c"] and _pairs(argv, "--chdir") == [workdir]


@pytest.mark.parametrize(
    ("exit_code", "killed_by", "memory_gib", "failure", "reason"),
    [
        (137, None, 1, Failure.USER, "exceeded its instance type's memory (1 GiB)"),
        (None, signal.SIGKILL, 2, Failure.USER, "exceeded its instance type's memory (2 GiB)"),
        (1, None, 1, Failure.USER, "exited with code 1"),  # it survived the kill of one of its processes
        (137, None, None, Failure.USER, "killed by SIGKILL"),  # no OOM kill was counted
        (None, CGROUP_FAILURE_SIGNAL, None, Failure.SYSTEM, "could not put the attempt in its cgroup"),
    ],
)
def test_an_attempt_killed_for_its_memory_is_the_commands_failure_and_says_so(
    exit_code: int | None, killed_by: int | None, memory_gib: int | None, failure: Failure, reason: str
) -> None:
    found = classify_exit(exit_code, killed_by, memory_gib)
    assert found[0] is failure and reason in found[1], found


def _run(tmp_path: Path, command: str, sandbox: Sandbox | None, cgroup: str = "") -> int:
    owner = None if sandbox is None else (sandbox.uid, sandbox.gid)
    workspace = Workspace(str(tmp_path / "shared/data/runs/nodes/n1"), owner)
    workspace.reset()
    line = () if sandbox is None else sandbox.argv(workspace.workdir)
    env = {"PATH": "/usr/bin:/bin"} if sandbox is None else sandbox.environment(workspace.workdir)
    argv = wrapper_argv(7, journal_path(str(tmp_path)), command, workspace.workdir, cgroup, line)
    return subprocess.run(argv, env=env, check=False, capture_output=True).returncode


@pytest.mark.parametrize(
    ("command", "code"), [("exit 3", 3), ("kill -9 $$", 137), ('[ "$(id -u)" != 0 ]', 0)]
)
def test_a_sandboxed_command_s_code_is_the_wrapper_s_and_is_journaled(
    sandbox: Sandbox, tmp_path: Path, command: str, code: int
) -> None:
    assert _run(tmp_path, command, sandbox) == code
    journals = ExitJournals()
    journals.expect([7])
    ended = journals.exit(str(tmp_path), 7)
    assert ended is not None and ended.code == code


def test_a_wrapper_that_cannot_join_its_node_s_cgroup_runs_nothing_and_marks_nothing(tmp_path: Path) -> None:
    """No begin mark either: a restarted server may launch the attempt, whose command never ran."""
    code = _run(tmp_path, f"touch {tmp_path}/ran", None, cgroup=str(tmp_path / "no-cgroup/cgroup.procs"))

    assert code == -CGROUP_FAILURE_SIGNAL
    assert not (tmp_path / "ran").exists()
    journals = ExitJournals()
    journals.expect([7])
    assert journals.begun(str(tmp_path), 7) is None


def test_a_node_s_cgroup_holds_its_memory_and_counts_the_kills_of_its_processes(tmp_path: Path) -> None:
    cgroups, why = find_node_cgroups("batchyard")
    assert cgroups is not None, why
    cgroup = cgroups.node(f"unit-{os.getpid()}", 2**30)
    try:
        assert cgroup.oom_kills() == 0
        hog = "python3 -c \"data = b'x' * (1536 << 20)\""
        assert _run(tmp_path, hog, None, cgroup=cgroup.procs) == 137
        assert cgroup.oom_kills() == 1
    finally:
        cgroup.remove()
    assert not os.path.exists(cgroup.path)
