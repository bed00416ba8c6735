"""The one place that decides how an attempt ended and whose fault a failure was."""

from __future__ import annotations

import signal

from batchyard.executors.base import Failure


def classify_exit(exit_code: int | None, killed_by: int | None) -> tuple[Failure, str]:
    """Turn the wrapper's exit code (or the signal that ended it) into a failure class and reason."""
    if exit_code == 0:
        return Failure.NONE, ""
    if exit_code is not None:
        return Failure.USER, f"The command exited with code {exit_code}."
    if killed_by is not None:
        name = signal.Signals(killed_by).name if killed_by in signal.Signals._value2member_map_ else killed_by
        return Failure.USER, f"The command was killed by signal {name}."
    return Failure.SYSTEM, "The compute node lost the attempt: it ended without recording an exit code."
