"""The launch wrapper: one ``/bin/sh`` that records its pid, runs the command in itself, and records
the command's exit code from an EXIT trap (both in the attempt's ``.state`` file).

Running the command in the wrapper's own shell (no subshell) saves a fork per attempt, a large share
of a short command's cost. The shell's exit status is the command's, so a watching parent needs no
file; the file matters only to a server re-attaching after a restart. A command that replaces its
shell (``exec``) or installs its own EXIT trap leaves no exit code there, and would then be counted
as lost (and retried) if the server restarted while it ran. ``$0`` carries the attempt's tag, so a
re-attaching server can check that a pid from the file still belongs to this attempt. The wrapper
moves into the working folder itself, so the launcher can use ``posix_spawn``, which cannot.
"""

from __future__ import annotations

from batchyard.runner.paths import AttemptPaths

_SCRIPT = (
    '__batchyard_state=$1; __batchyard_cmd=$3; cd "$2" || exit 126; set --; '
    'echo $$ > "$__batchyard_state"; trap \'echo $? >> "$__batchyard_state"\' EXIT; eval "$__batchyard_cmd"'
)


def attempt_tag(attempt_pk: int) -> str:
    return f"batchyard-attempt-{attempt_pk}"


def wrapper_argv(attempt_pk: int, paths: AttemptPaths, command: str, workdir: str) -> list[str]:
    return ["/bin/sh", "-c", _SCRIPT, attempt_tag(attempt_pk), paths.state, workdir, command]
