"""The launch wrapper: one ``/bin/sh`` that records its pid, runs the command, records its exit code.

The command runs in a subshell so its own ``exit``, traps or ``set -e`` cannot skip the exit-code
file. ``$0`` carries the attempt's tag, so a re-attaching server can check that a pid from the
file still belongs to this attempt and was not reused.
"""

from __future__ import annotations

from batchyard.runner.paths import AttemptPaths

_SCRIPT = 'echo $$ > "$1/pid"; (__batchyard_cmd=$2; set --; eval "$__batchyard_cmd"); echo $? > "$1/exit"'


def attempt_tag(attempt_pk: int) -> str:
    return f"batchyard-attempt-{attempt_pk}"


def wrapper_argv(attempt_pk: int, paths: AttemptPaths, command: str) -> list[str]:
    return ["/bin/sh", "-c", _SCRIPT, attempt_tag(attempt_pk), str(paths.root), command]
