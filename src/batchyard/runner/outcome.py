"""The one place that decides how an attempt ended and whose fault a failure was."""

from __future__ import annotations

import errno
import signal

from batchyard.domain.attempts import Failure
from batchyard.domain.errors import ApiError
from batchyard.runner.wrapper import CGROUP_FAILURE_SIGNAL, JOURNAL_FAILURE_SIGNAL

LOST = "The compute node lost the attempt: it ended without recording an exit code."
SHELL_SIGNAL_BASE = 128  # a shell reports a command killed by signal N as exit code 128 + N
# OS errors that say the attempt itself cannot be run as given, whatever node tries again.
_UNRUNNABLE_ERRNOS = frozenset({errno.E2BIG, errno.ENAMETOOLONG})
# Signals the wrapper ends itself with when the node failed it before the command could start.
_OUT_OF_MEMORY = "The command was killed: it exceeded its instance type's memory"
_WRAPPER_FAILURES: dict[int, str] = {
    JOURNAL_FAILURE_SIGNAL: "could not write the attempt's journal",
    CGROUP_FAILURE_SIGNAL: "could not put the attempt in its cgroup",
}


def classify_exit(
    exit_code: int | None, killed_by: int | None, memory_gib: int | None = None
) -> tuple[Failure, str]:
    """Turn the wrapper's exit code (or the signal that ended it) into a failure class and reason.

    ``memory_gib``: the node's memory, given when the kernel's OOM killer killed a process of the
    attempt (its node's cgroup counted it): an attempt that then ended by SIGKILL was killed for
    using more than its instance type has, which is the command's doing.
    """
    if exit_code == 0:
        return Failure.NONE, ""
    if memory_gib is not None and _sigkilled(exit_code, killed_by):
        return Failure.USER, f"{_OUT_OF_MEMORY} ({memory_gib} GiB)."
    if exit_code is not None:
        return Failure.USER, _exit_reason(exit_code)
    if killed_by in _WRAPPER_FAILURES:
        return Failure.SYSTEM, f"The compute node {_WRAPPER_FAILURES[killed_by]}; the command did not run."
    if killed_by is not None:
        return Failure.USER, f"The command was killed by signal {_signal_name(killed_by)}."
    return Failure.SYSTEM, LOST


def classify_error(exc: BaseException, doing: str) -> tuple[Failure, str]:
    """Classify an exception met while ``doing`` something for an attempt (starting it, keeping logs).

    Refusals of the attempt's own values (bytes the OS will not take, a path the store refuses) come
    back the same on any retry; anything else (a full disk, an unreachable store) may pass.
    """
    reason = f"{doing}: {exc.message if isinstance(exc, ApiError) else exc}."
    if isinstance(exc, ApiError | ValueError | TypeError):
        return Failure.UNRUNNABLE, reason
    if isinstance(exc, OSError) and exc.errno in _UNRUNNABLE_ERRNOS:
        return Failure.UNRUNNABLE, reason
    return Failure.SYSTEM, reason


def _sigkilled(exit_code: int | None, killed_by: int | None) -> bool:
    """The wrapper, or the command it reports (as a shell does, 128 + 9), ended by SIGKILL."""
    return killed_by == signal.SIGKILL or exit_code == SHELL_SIGNAL_BASE + signal.SIGKILL


def _exit_reason(exit_code: int) -> str:
    reason = f"The command exited with code {exit_code}"
    signum = exit_code - SHELL_SIGNAL_BASE
    if signum in signal.Signals._value2member_map_:
        return f"{reason}, as the shell reports a command killed by {_signal_name(signum)}."
    return reason + "."


def _signal_name(signum: int) -> str:
    return signal.Signals(signum).name if signum in signal.Signals._value2member_map_ else str(signum)
