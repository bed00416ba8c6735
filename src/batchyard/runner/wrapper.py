"""The launch wrapper: one ``/bin/sh`` that moves into its slot's working folder, runs the command in
itself, and appends the command's exit code and its slot to the job's exit journal from an EXIT trap.

Running the command in the wrapper's own shell (no subshell) saves a fork per attempt, a large share
of a short command's cost. The shell's exit status is the command's, so a watching parent needs no
file; the journal matters only to a server re-attaching after a restart. A command that replaces its
shell (``exec``) or installs its own EXIT trap leaves no exit code there, and would then be counted
as lost (and retried) if the server restarted while it ran. ``$0`` carries the attempt's tag, which
is how a restarted server finds the wrappers still running (``running_wrappers``). The wrapper moves
into the working folder itself, so the launcher can use ``posix_spawn``, which cannot.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass

_TAG_PREFIX = "batchyard-attempt-"
_SCRIPT = (
    "__batchyard_journal=$1; __batchyard_dir=$2; __batchyard_attempt=$3; __batchyard_cmd=$4; "
    'cd "$2" || exit 126; set --; '
    'trap \'printf "%s %s %s\\n" "$__batchyard_attempt" "$?" "$__batchyard_dir" '
    '>> "$__batchyard_journal"\' EXIT; '
    'eval "$__batchyard_cmd"'
)


def attempt_tag(attempt_pk: int) -> str:
    return f"{_TAG_PREFIX}{attempt_pk}"


def wrapper_argv(attempt_pk: int, journal: str, command: str, workdir: str) -> list[str]:
    return ["/bin/sh", "-c", _SCRIPT, attempt_tag(attempt_pk), journal, workdir, str(attempt_pk), command]


@dataclass(frozen=True)
class Alive:
    pid: int
    workdir: str


def running_wrappers() -> dict[int, Alive]:
    """Attempt pk -> the wrapper alive on this machine, found by the tag in its ``$0``.

    Subshells the command forks carry the same arguments, so only the session leader counts: the
    wrapper was started in a session of its own.
    """
    found: dict[int, Alive] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            pid = int(entry.name)
            if len(argv) > 5 and argv[3].startswith(_TAG_PREFIX.encode()) and os.getsid(pid) == pid:
                found[int(argv[3][len(_TAG_PREFIX) :])] = Alive(pid, os.fsdecode(argv[5]))
        except (OSError, ValueError):
            continue  # gone meanwhile, or not ours to read
    return found


def kill_wrappers_under(folder: str) -> None:
    """Kill the process group of every wrapper whose slot lies under ``folder`` (a data dir).

    Attempts outlive a stopped server by design; whatever discards a data dir must end them too.
    """
    for alive in running_wrappers().values():
        if alive.workdir.startswith(f"{folder}/"):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(alive.pid, signal.SIGKILL)
