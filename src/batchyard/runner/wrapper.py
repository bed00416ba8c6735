"""The launch wrapper: one ``/bin/sh`` that records its pid, runs the command, records its exit code
(both in the attempt's ``.state`` file).

The command runs in a subshell so its own ``exit``, traps or ``set -e`` cannot skip the exit-code
file; the wrapper then exits with the command's code, so a watching parent needs no file read.
``$0`` carries the attempt's tag, so a re-attaching server can check that a pid from the file
still belongs to this attempt and was not reused.
"""

from __future__ import annotations

from batchyard.runner.paths import AttemptPaths

_SCRIPT = (
    'echo $$ > "$1"; (__batchyard_cmd=$2; set --; eval "$__batchyard_cmd"); '
    '__batchyard_rc=$?; echo $__batchyard_rc >> "$1"; exit $__batchyard_rc'
)


def attempt_tag(attempt_pk: int) -> str:
    return f"batchyard-attempt-{attempt_pk}"


def wrapper_argv(attempt_pk: int, paths: AttemptPaths, command: str) -> list[str]:
    return ["/bin/sh", "-c", _SCRIPT, attempt_tag(attempt_pk), paths.state, command]
