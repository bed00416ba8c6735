"""The launch wrapper: one ``/bin/sh`` that marks the attempt as begun in its job's journal, moves into
its node's working folder, runs the command in a subshell, and journals the command's exit code.

The wrapper is the command's parent, so the outcome is recorded by a process the command cannot
replace: ``exec python train.py`` or the command's own ``trap … EXIT`` replace or use only the
subshell. The begin mark is written before the command can start, so a restarted server that finds
neither a live wrapper nor a begin mark knows the command never ran and may launch the attempt
(once); one that finds a begin mark and no exit knows it was lost. If the begin mark cannot be
written, the wrapper ends itself with ``JOURNAL_FAILURE_SIGNAL`` without running the command.

The wrapper survives SIGTERM sent to its process group (by a trap, which the subshell does not
inherit: the command keeps the default action), so a terminated command's code is still
journaled, and a SIGTERM that comes before the command starts keeps it from starting (the
kill's SIGKILL follow-up covers the instant between that check and the fork); SIGKILL ends the
wrapper without a line. ``$0`` carries the attempt's tag, which is how a
restarted server finds the wrappers still running (``running_wrappers``). The wrapper moves into the
working folder itself, so the launcher can use ``posix_spawn``, which cannot.

Before the begin mark, the wrapper moves itself into its node's cgroup (``runner.cgroups``), so the
command and all it starts are counted against the node's memory; if it cannot, it ends itself with
``CGROUP_FAILURE_SIGNAL`` without running the command. It stays outside the sandbox
(``runner.sandbox``), as root, and runs the command through the sandbox's line when it is given one
(bwrap, which moves into the working folder itself, and reports the command's exit as its own), else
in a subshell of its own.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass

from batchyard.runner.node_sandbox import kill_held_under

_TAG_PREFIX = "batchyard-attempt-"
JOURNAL_FAILURE_SIGNAL = signal.SIGUSR2
CGROUP_FAILURE_SIGNAL = signal.SIGUSR1
_SCRIPT = (
    "__batchyard_journal=$1; __batchyard_dir=$2; __batchyard_attempt=$3; __batchyard_cmd=$4; "
    "__batchyard_cgroup=$5; shift 5; "
    "trap __batchyard_rc=143 TERM; "
    'if [ -n "$__batchyard_cgroup" ]; then echo $$ > "$__batchyard_cgroup" || kill -s USR1 $$; fi; '
    'printf "S %s %s\\n" "$__batchyard_attempt" $$ >> "$__batchyard_journal" || kill -s USR2 $$; '
    'if [ -n "$__batchyard_rc" ]; then :; '
    'elif [ $# -gt 0 ]; then "$@" "$__batchyard_cmd"; __batchyard_rc=$?; '
    'elif cd "$__batchyard_dir"; then ( eval "$__batchyard_cmd" ); __batchyard_rc=$?; '
    "else __batchyard_rc=126; fi; "
    'printf "%s %s %s %s\\n" "$__batchyard_attempt" "$__batchyard_rc" $$ "$__batchyard_dir" '
    '>> "$__batchyard_journal"; '
    'exit "$__batchyard_rc"'
)


def attempt_tag(attempt_pk: int) -> str:
    return f"{_TAG_PREFIX}{attempt_pk}"


def wrapper_argv(
    attempt_pk: int,
    journal: str,
    command: str,
    workdir: str,
    cgroup_procs: str = "",
    sandbox: Sequence[str] = (),
) -> list[str]:
    """``cgroup_procs``: the node cgroup's file to join ("" for none); ``sandbox``: the line that runs
    the command, appended to it (empty: a plain subshell)."""
    tag = attempt_tag(attempt_pk)
    return ["/bin/sh", "-c", _SCRIPT, tag, journal, workdir, str(attempt_pk), command, cgroup_procs, *sandbox]


@dataclass(frozen=True)
class Alive:
    pid: int
    workdir: str


def running_wrappers() -> dict[tuple[str, int], Alive]:
    """(journal, attempt pk) -> the wrapper alive on this machine, found by the tag in its ``$0``.

    Attempt numbers repeat across data dirs, so the journal path says whose attempt it is.
    Subshells the command forks carry the same arguments, so only the session leader counts: the
    wrapper was started in a session of its own. A cluster's launcher (``srun``) that carries the
    wrapper's line after its own options, in a session of its own too, counts as the wrapper.
    """
    found: dict[tuple[str, int], Alive] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            at = _tag_index(argv)
            pid = int(entry.name)
            if at is not None and os.getsid(pid) == pid:
                key = (os.fsdecode(argv[at + 1]), int(argv[at][len(_TAG_PREFIX) :]))
                found[key] = Alive(pid, os.fsdecode(argv[at + 2]))
        except (OSError, ValueError):
            continue  # gone meanwhile, or not ours to read
    return found


def _tag_index(argv: list[bytes]) -> int | None:
    """Where the wrapper's tag is in a command line: after ``/bin/sh -c SCRIPT``, the script ours."""
    for at in range(3, len(argv) - 2):
        if argv[at - 1] == _SCRIPT_BYTES and argv[at].startswith(_TAG_BYTES):
            return at
    return None


_SCRIPT_BYTES = _SCRIPT.encode()
_TAG_BYTES = _TAG_PREFIX.encode()


def kill_wrappers_under(folder: str) -> None:
    """Kill the process group of every wrapper whose workspace lies under ``folder`` (a data dir), and
    every node sandbox kept there.

    Attempts and node sandboxes outlive a stopped server by design; whatever discards a data dir must
    end them too.
    """
    for alive in running_wrappers().values():
        if alive.workdir.startswith(f"{folder}/"):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(alive.pid, signal.SIGKILL)
    kill_held_under(folder)
