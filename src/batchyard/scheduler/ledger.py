"""The scheduler's memory of what is on the nodes right now: attempts, capacity, held nodes, deadlines.

Rebuilt from the store at start-up; between ticks it is the fast path that spares the store any
query per running attempt.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from batchyard.domain.states import State
from batchyard.executors.base import Resources


@dataclass(frozen=True)
class Cancel:
    """Why the scheduler is killing an attempt, and whether the instance may then be retried."""

    reason: str
    retry: bool


@dataclass
class Active:
    attempt_pk: int
    task_pk: int
    idx: int
    number: int
    state: State
    demand: Resources
    timeout: int
    rank: tuple[int, int, int, int] = (0, 0, 0, 0)
    deadline: float | None = None
    cancel: Cancel | None = None

    @property
    def waiting(self) -> bool:
        """Handed to the executor but not started: it may still be overtaken by better-ranked work."""
        return self.deadline is None


class Ledger:
    def __init__(self, capacity: Resources) -> None:
        self.capacity = capacity
        self.used = Resources(0, 0)
        self._active: dict[int, Active] = {}
        self._by_instance: dict[tuple[int, int], int] = {}
        self._held: dict[tuple[int, int], Resources] = {}
        self._deadlines: list[tuple[float, int]] = []
        self.last_attempt_pk = 0  # set from the store at recovery; the scheduler numbers attempts

    def new_attempt_pk(self) -> int:
        self.last_attempt_pk += 1
        return self.last_attempt_pk

    @property
    def free(self) -> Resources:
        return self.capacity - self.used

    def __len__(self) -> int:
        return len(self._active)

    def get(self, attempt_pk: int) -> Active | None:
        return self._active.get(attempt_pk)

    def on_instance(self, task_pk: int, idx: int) -> Active | None:
        pk = self._by_instance.get((task_pk, idx))
        return None if pk is None else self._active[pk]

    def of_tasks(self, task_pks: set[int]) -> list[Active]:
        return [a for a in self._active.values() if a.task_pk in task_pks]

    def add(self, active: Active) -> None:
        self._active[active.attempt_pk] = active
        self._by_instance[(active.task_pk, active.idx)] = active.attempt_pk
        self.used += active.demand

    def remove(self, attempt_pk: int) -> Active:
        active = self._active.pop(attempt_pk)
        del self._by_instance[(active.task_pk, active.idx)]
        self.used -= active.demand
        return active

    def start_clock(self, active: Active, started_at: float) -> None:
        active.deadline = started_at + active.timeout
        heapq.heappush(self._deadlines, (active.deadline, active.attempt_pk))

    def expired(self, now: float) -> list[Active]:
        """Attempts past their deadline and not yet being killed; each is returned once."""
        due = []
        while self._deadlines and self._deadlines[0][0] <= now:
            _, pk = heapq.heappop(self._deadlines)
            active = self._active.get(pk)
            if active is not None and active.cancel is None:
                due.append(active)
        return due

    def next_deadline(self) -> float | None:
        while self._deadlines and self._deadlines[0][1] not in self._active:
            heapq.heappop(self._deadlines)
        return self._deadlines[0][0] if self._deadlines else None

    def displaceable(self, task_rank: tuple[int, int, int]) -> Resources:
        """Room held by waiting attempts of tasks ranked after ``task_rank`` (priority, job, task).

        An executor starts those later anyway, so better-ranked work may be handed over past them.
        A task never displaces its own waiting attempts, which keeps the executor's queue bounded.
        """
        total = Resources(0, 0)
        for active in self._active.values():
            if active.waiting and active.rank[:3] > task_rank:
                total += active.demand
        return total

    def hold(self, task_pk: int, idx: int, demand: Resources) -> None:
        """Keep a node reserved for a FAILED_INTERRUPTED instance until it is terminated or retried."""
        self._held[(task_pk, idx)] = demand
        self.used += demand

    def release(self, task_pk: int, idx: int) -> None:
        demand = self._held.pop((task_pk, idx), None)
        if demand is not None:
            self.used -= demand
