"""The launch wrapper and its node's workspace, run for real with /bin/sh: what they record and show."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from batchyard.runner.exits import Exit, ExitJournals, journal_path
from batchyard.runner.paths import AttemptPaths
from batchyard.runner.workspace import Workspace
from batchyard.runner.wrapper import (
    JOURNAL_FAILURE_SIGNAL,
    Alive,
    attempt_tag,
    running_wrappers,
    wrapper_argv,
)

WORKDIR = "work dir"  # a space, as a data dir may have


def argv(tmp_path: Path, command: str, attempt_pk: int = 7) -> tuple[list[str], AttemptPaths]:
    paths = AttemptPaths.of(tmp_path, "job-test0001", attempt_pk)
    paths.ensure_folder()
    workdir = tmp_path / WORKDIR
    workdir.mkdir(exist_ok=True)
    return wrapper_argv(attempt_pk, journal_path(paths.job_folder), command, str(workdir)), paths


def _code_and_workspace(ended: Exit | None) -> tuple[int, str] | None:
    return None if ended is None else (ended.code, ended.workdir)


def run(
    tmp_path: Path, command: str, attempt_pk: int = 7
) -> tuple[subprocess.CompletedProcess[str], AttemptPaths]:
    args, paths = argv(tmp_path, command, attempt_pk)
    return subprocess.run(args, capture_output=True, text=True, check=False), paths


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ("true", 0),
        ("false", 1),
        ("exit 3", 3),
        ("(exit 4); echo x", 0),
        ('exec sh -c "exit 5"', 5),  # the command replaces its shell: the wrapper, its parent, records
        ("trap 'echo bye' EXIT; exit 3", 3),  # the command's own EXIT trap replaces nothing of ours
        ("trap 'exit 0' EXIT; false", 0),
    ],
)
def test_wrapper_exits_with_the_commands_code_and_journals_it_with_its_workspace(
    tmp_path: Path, command: str, code: int
) -> None:
    result, paths = run(tmp_path, command)

    journals = ExitJournals()
    journals.expect([7])
    assert result.returncode == code
    assert _code_and_workspace(journals.exit(paths.job_folder, 7)) == (code, str(tmp_path / WORKDIR))


def test_journal_keeps_each_attempts_code_and_is_read_from_where_it_stopped(tmp_path: Path) -> None:
    journals = ExitJournals()
    journals.expect([1, 2, 3])
    _, paths = run(tmp_path, "exit 1", attempt_pk=1)
    run(tmp_path, "exit 2", attempt_pk=2)

    def code(pk: int) -> int | None:
        ended = journals.exit(paths.job_folder, pk)
        return None if ended is None else ended.code

    assert code(2) == 2
    assert code(3) is None, "attempt 3 has not ended"
    run(tmp_path, "exit 3", attempt_pk=3)
    assert code(3) == 3
    assert code(1) == 1


def test_begin_mark_is_written_before_the_command_and_only_expected_attempts_are_kept(
    tmp_path: Path,
) -> None:
    args, paths = argv(tmp_path, "sleep 30", attempt_pk=5)
    process = subprocess.Popen(args, start_new_session=True)
    journals = ExitJournals()
    journals.expect([5])
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not journals.begun(paths.job_folder, 5):
            time.sleep(0.02)
        assert journals.begun(paths.job_folder, 5)
        assert journals.exit(paths.job_folder, 5) is None, "it has begun, not ended"
        assert not journals.begun(paths.job_folder, 6), "never launched"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_a_terminated_command_is_journaled_and_its_wrapper_outlives_sigterm(tmp_path: Path) -> None:
    started = tmp_path / "started"
    args, paths = argv(tmp_path, f"touch '{started}'; sleep 30", attempt_pk=8)
    process = subprocess.Popen(args, start_new_session=True)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not started.exists():
        time.sleep(0.02)

    os.killpg(process.pid, signal.SIGTERM)

    journals = ExitJournals()
    journals.expect([8])
    assert process.wait(timeout=5) == 128 + signal.SIGTERM
    assert journals.exit(paths.job_folder, 8) == Exit(
        128 + signal.SIGTERM, process.pid, str(tmp_path / WORKDIR)
    )


def test_an_unwritable_journal_stops_the_command_before_it_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    args, paths = argv(tmp_path, f"touch {marker}")
    os.makedirs(journal_path(paths.job_folder))  # a folder where the journal file should be

    result = subprocess.run(args, capture_output=True, check=False)

    assert result.returncode == -JOURNAL_FAILURE_SIGNAL
    assert not marker.exists()


def test_journal_read_after_a_restart_finds_every_attempt_that_ended(tmp_path: Path) -> None:
    """Several attempts of one job ended while no server ran: every one of them is found."""
    for pk in (11, 12, 13):
        run(tmp_path, f"exit {pk}", attempt_pk=pk)
    journals = ExitJournals()
    journals.expect([11, 12, 13])

    ended = {pk: journals.exit(str(tmp_path / "job-test0001"), pk) for pk in (11, 12, 13)}

    assert {pk: e.code if e else None for pk, e in ended.items()} == {11: 11, 12: 12, 13: 13}


def test_running_wrappers_finds_the_session_leader_not_its_subshells(tmp_path: Path) -> None:
    args, _ = argv(tmp_path, "(sleep 30); true", attempt_pk=991)
    process = subprocess.Popen(args, start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        key = (journal_path(str(tmp_path / "job-test0001")), 991)
        while time.monotonic() < deadline and key not in running_wrappers():
            time.sleep(0.02)
        assert running_wrappers()[key] == Alive(process.pid, str(tmp_path / WORKDIR))
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert key not in running_wrappers()


def test_command_sees_no_positional_parameters_of_the_wrapper(tmp_path: Path) -> None:
    result, _ = run(tmp_path, 'echo "[$#][$1]"; echo "$0"')

    assert result.stdout.splitlines() == ["[0][]", attempt_tag(7)]


def test_multi_line_commands_with_quotes_run_verbatim(tmp_path: Path) -> None:
    result, _ = run(tmp_path, "x='a b'\nprintf '%s|' \"$x\" \"c'd\"")

    assert result.stdout == "a b|c'd|"


def test_command_runs_in_the_working_folder(tmp_path: Path) -> None:
    result, _ = run(tmp_path, "pwd")

    assert result.stdout.strip() == str(tmp_path / WORKDIR)


def test_workspace_keeps_only_logs_with_content_and_is_emptied_when_dirty(tmp_path: Path) -> None:
    workspace = Workspace(str(tmp_path / "nodes" / "node-test0001"))
    workspace.reset()
    kept = AttemptPaths.of(tmp_path, "job-test0001", 9)
    kept.ensure_folder()
    Path(workspace.stdout).write_text("hello")
    Path(workspace.stderr).write_text("")

    workspace.keep_logs(kept.stdout, kept.stderr)

    assert Path(kept.stdout).read_text() == "hello"
    assert not Path(kept.stderr).exists(), "an empty log costs no file of its own"
    assert workspace.is_clean()
    Path(workspace.workdir, "left-behind").write_text("x")
    assert not workspace.is_clean()
    workspace.reset()
    assert workspace.is_clean()
    workspace.discard()
    assert not Path(workspace.workdir).exists()
