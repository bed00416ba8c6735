"""What the processes of attempts use, read from ``/proc`` in one pass for all of them.

An attempt's processes are its wrapper's session (the wrapper is started in a session of its own and
everything the command forks stays in it, unless it calls ``setsid`` itself). CPU time counts each
live process's own time and the time of the children it has reaped, so work done by short-lived
children is not lost between looks; memory is the resident set of the live processes.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Collection
from dataclasses import dataclass

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
# Fields of /proc/<pid>/stat after the command name, counted from the state (field 3 of proc(5)).
_SESSION, _UTIME, _STIME, _CUTIME, _CSTIME, _RSS = 3, 11, 12, 13, 14, 21


@dataclass
class Totals:
    cpu_seconds: float = 0.0  # since the session began
    memory_bytes: int = 0  # resident now


def session_totals(sessions: Collection[int]) -> dict[int, Totals]:
    """Totals of every session in ``sessions`` that still has a process (absent: all have ended)."""
    found: dict[int, Totals] = {}
    if not sessions:
        return found
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(entry.name)
        if fields is None or int(fields[_SESSION]) not in sessions:
            continue
        totals = found.setdefault(int(fields[_SESSION]), Totals())
        ticks = sum(int(fields[i]) for i in (_UTIME, _STIME, _CUTIME, _CSTIME))
        totals.cpu_seconds += ticks / _TICKS_PER_S
        totals.memory_bytes += int(fields[_RSS]) * _PAGE_BYTES
    return found


def disk_percent(folder: str) -> float | None:
    """How full the file system holding ``folder`` is, or None if it cannot be read."""
    try:
        usage = shutil.disk_usage(folder)
    except OSError:
        return None
    return 100.0 * usage.used / usage.total if usage.total else None


def _stat_fields(pid: str) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rpartition(b")")[2].split()
    except OSError:
        return None  # gone meanwhile
    return fields if len(fields) > _RSS else None
