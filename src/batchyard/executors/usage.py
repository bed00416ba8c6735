"""Turning what an executor reads off its nodes (CPU time so far, memory now) into the shares of the
instance type that DescribeJobMonitorData answers.

A CPU share is the CPU time used between two looks over the time between them and the node's CPUs,
so the meter remembers each attempt's last look; the first look at an attempt compares with its
start, when the executor knows it (one it re-attached after a restart has a share only from its
second look on).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from batchyard.domain.resources import Resources
from batchyard.executors.base import Usage

_GIB = 1 << 30


@dataclass(frozen=True)
class Reading:
    attempt_pk: int
    at: float
    cpu_seconds: float  # used since the attempt started
    memory_bytes: int
    disk_percent: float | None
    node: Resources
    started: float | None  # when its command started, if known


class UsageMeter:
    def __init__(self) -> None:
        self._last: dict[int, tuple[float, float]] = {}  # attempt -> (at, cpu seconds) of its last look

    def shares(self, readings: Sequence[Reading]) -> list[Usage]:
        """Usage of each reading; attempts not read this time are forgotten (they have ended)."""
        looked = {r.attempt_pk: (r.at, r.cpu_seconds) for r in readings}
        usages = [self._usage(r) for r in readings]
        self._last = looked
        return usages

    def _usage(self, r: Reading) -> Usage:
        since = self._last.get(r.attempt_pk) or (None if r.started is None else (r.started, 0.0))
        cpu = None
        if since is not None and r.at > since[0] and r.node.cpu > 0:
            used = max(0.0, r.cpu_seconds - since[1])
            cpu = 100.0 * used / (r.at - since[0]) / r.node.cpu
        memory = 100.0 * r.memory_bytes / (r.node.memory_gib * _GIB) if r.node.memory_gib > 0 else None
        return Usage(r.attempt_pk, r.at, cpu, memory, r.disk_percent)
