"""Everything one tick works with, passed to each step so the steps stay plain functions."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection

from batchyard.executors.base import AttemptSpec
from batchyard.scheduler.batch import Batch
from batchyard.scheduler.ledger import Ledger
from batchyard.scheduler.runtime import RuntimeCache


@dataclass
class Tick:
    conn: Connection
    now: float
    ledger: Ledger
    runtimes: RuntimeCache
    touched: set[int] = field(default_factory=set)
    launches: list[AttemptSpec] = field(default_factory=list)
    cancels: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)  # attempts whose end this tick records
    more: bool = False

    def batch(self) -> Batch:
        return Batch(self.touched)
