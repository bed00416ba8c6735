"""The launch wrapper, run for real with /bin/sh: what it records and what the command sees."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from batchyard.runner.paths import AttemptPaths
from batchyard.runner.wrapper import attempt_tag, wrapper_argv


def run(tmp_path: Path, command: str) -> tuple[subprocess.CompletedProcess[str], AttemptPaths]:
    paths = AttemptPaths.of(tmp_path, "job-test0001", 7)
    paths.ensure_folder()
    workdir = tmp_path / "work"
    workdir.mkdir()
    argv = wrapper_argv(7, paths, command, str(workdir))
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    return result, paths


@pytest.mark.parametrize(
    ("command", "code"), [("true", 0), ("false", 1), ("exit 3", 3), ("(exit 4); echo x", 0)]
)
def test_wrapper_exits_with_the_commands_code_and_records_pid_and_code(
    tmp_path: Path, command: str, code: int
) -> None:
    result, paths = run(tmp_path, command)

    pid, recorded = paths.read_state()
    assert result.returncode == code
    assert recorded == code
    assert pid is not None and pid > 1


def test_command_sees_no_positional_parameters_of_the_wrapper(tmp_path: Path) -> None:
    result, _ = run(tmp_path, 'echo "[$#][$1]"; echo "$0"')

    assert result.stdout.splitlines() == ["[0][]", attempt_tag(7)]


def test_multi_line_commands_with_quotes_run_verbatim(tmp_path: Path) -> None:
    result, _ = run(tmp_path, "x='a b'\nprintf '%s|' \"$x\" \"c'd\"")

    assert result.stdout == "a b|c'd|"


def test_command_runs_in_the_working_folder(tmp_path: Path) -> None:
    result, _ = run(tmp_path, "pwd")

    assert result.stdout.strip() == str(tmp_path / "work")
