"""The launch wrapper and its slot, run for real with /bin/sh: what they record, what the command sees."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from batchyard.runner.exits import Exit, ExitJournals, journal_path
from batchyard.runner.paths import AttemptPaths
from batchyard.runner.slots import Slots
from batchyard.runner.wrapper import Alive, attempt_tag, running_wrappers, wrapper_argv

WORKDIR = "work dir"  # a space, as a data dir may have


def argv(tmp_path: Path, command: str, attempt_pk: int = 7) -> tuple[list[str], AttemptPaths]:
    paths = AttemptPaths.of(tmp_path, "job-test0001", attempt_pk)
    paths.ensure_folder()
    workdir = tmp_path / WORKDIR
    workdir.mkdir(exist_ok=True)
    return wrapper_argv(attempt_pk, journal_path(paths.job_folder), command, str(workdir)), paths


def run(
    tmp_path: Path, command: str, attempt_pk: int = 7
) -> tuple[subprocess.CompletedProcess[str], AttemptPaths]:
    args, paths = argv(tmp_path, command, attempt_pk)
    return subprocess.run(args, capture_output=True, text=True, check=False), paths


@pytest.mark.parametrize(
    ("command", "code"), [("true", 0), ("false", 1), ("exit 3", 3), ("(exit 4); echo x", 0)]
)
def test_wrapper_exits_with_the_commands_code_and_journals_it_with_its_slot(
    tmp_path: Path, command: str, code: int
) -> None:
    result, paths = run(tmp_path, command)

    journals = ExitJournals()
    journals.expect(7)
    assert result.returncode == code
    assert journals.exit(paths.job_folder, 7) == Exit(code, str(tmp_path / WORKDIR))


def test_journal_keeps_each_attempts_code_and_is_read_from_where_it_stopped(tmp_path: Path) -> None:
    journals = ExitJournals()
    for pk in (1, 2, 3):
        journals.expect(pk)
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


def test_running_wrappers_finds_the_session_leader_not_its_subshells(tmp_path: Path) -> None:
    args, _ = argv(tmp_path, "(sleep 30); true", attempt_pk=991)
    process = subprocess.Popen(args, start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and 991 not in running_wrappers():
            time.sleep(0.02)
        assert running_wrappers()[991] == Alive(process.pid, str(tmp_path / WORKDIR))
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert 991 not in running_wrappers()


def test_command_sees_no_positional_parameters_of_the_wrapper(tmp_path: Path) -> None:
    result, _ = run(tmp_path, 'echo "[$#][$1]"; echo "$0"')

    assert result.stdout.splitlines() == ["[0][]", attempt_tag(7)]


def test_multi_line_commands_with_quotes_run_verbatim(tmp_path: Path) -> None:
    result, _ = run(tmp_path, "x='a b'\nprintf '%s|' \"$x\" \"c'd\"")

    assert result.stdout == "a b|c'd|"


def test_command_runs_in_the_working_folder(tmp_path: Path) -> None:
    result, _ = run(tmp_path, "pwd")

    assert result.stdout.strip() == str(tmp_path / WORKDIR)


def test_slot_keeps_only_logs_with_content_and_is_reused_while_clean(tmp_path: Path) -> None:
    slots = Slots(str(tmp_path / "slots"))
    slot = slots.take()
    kept = AttemptPaths.of(tmp_path, "job-test0001", 9)
    kept.ensure_folder()
    Path(slot.stdout).write_text("hello")
    Path(slot.stderr).write_text("")

    slot.keep_logs(kept.stdout, kept.stderr)

    assert Path(kept.stdout).read_text() == "hello"
    assert not Path(kept.stderr).exists(), "an empty log costs no file of its own"
    assert slot.is_clean()
    slots.put_back(slot)
    assert slots.take() == slot
    Path(slot.workdir, "left-behind").write_text("x")
    assert not slot.is_clean()
    slot.discard()
    assert not Path(slot.workdir).exists()
