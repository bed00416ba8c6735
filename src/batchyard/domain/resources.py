"""What a compute node reserves on a host, and what a host offers: CPU, memory and GPU."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resources:
    cpu: int
    memory_gib: int
    gpu: int = 0

    def fits(self, demand: Resources) -> bool:
        return demand.cpu <= self.cpu and demand.memory_gib <= self.memory_gib and demand.gpu <= self.gpu

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu + other.cpu, self.memory_gib + other.memory_gib, self.gpu + other.gpu)

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.cpu - other.cpu, self.memory_gib - other.memory_gib, self.gpu - other.gpu)

    def __str__(self) -> str:
        gpu = f", {self.gpu} GPU" if self.gpu else ""
        return f"{self.cpu} CPU, {self.memory_gib} GiB{gpu}"


NOTHING = Resources(0, 0, 0)
