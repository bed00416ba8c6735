"""The scheduler's memory of the attempts on nodes right now, and of their deadlines.

Rebuilt from the store at start-up; between ticks it is the fast path that spares the store any
query per running attempt.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from batchyard.domain.attempts import Failure
from batchyard.domain.states import State


@dataclass(frozen=True)
class Cancel:
    """Why the scheduler is killing an attempt, and whether the instance may then be retried.

    ``blame`` overrides the executor's account of the kill: a node terminated under an attempt is
    the system's fault, whatever signal the command died of.
    """

    reason: str
    retry: bool
    blame: Failure | None = None


@dataclass
class ActiveAttempt:
    attempt_pk: int
    task_pk: int
    idx: int
    number: int
    state: State
    timeout: int
    node_id: str
    deadline: float | None = None
    cancel: Cancel | None = None
    launched_at: float | None = None  # when it was dispatched (its LaunchTime)

    @property
    def started_at(self) -> float | None:
        return None if self.deadline is None else self.deadline - self.timeout


class Ledger:
    def __init__(self) -> None:
        self._active: dict[int, ActiveAttempt] = {}
        self._by_instance: dict[tuple[int, int], int] = {}
        self._deadlines: list[tuple[float, int]] = []
        self.last_attempt_pk = 0  # set from the store at recovery; the scheduler numbers attempts

    def new_attempt_pk(self) -> int:
        self.last_attempt_pk += 1
        return self.last_attempt_pk

    def __len__(self) -> int:
        return len(self._active)

    def get(self, attempt_pk: int) -> ActiveAttempt | None:
        return self._active.get(attempt_pk)

    def on_instance(self, task_pk: int, idx: int) -> ActiveAttempt | None:
        pk = self._by_instance.get((task_pk, idx))
        return None if pk is None else self._active[pk]

    def of_tasks(self, task_pks: set[int]) -> list[ActiveAttempt]:
        return [a for a in self._active.values() if a.task_pk in task_pks]

    def add(self, active: ActiveAttempt) -> None:
        self._active[active.attempt_pk] = active
        self._by_instance[(active.task_pk, active.idx)] = active.attempt_pk

    def remove(self, attempt_pk: int) -> ActiveAttempt:
        active = self._active.pop(attempt_pk)
        del self._by_instance[(active.task_pk, active.idx)]
        return active

    def start_clock(self, active: ActiveAttempt, started_at: float) -> None:
        active.deadline = started_at + active.timeout
        heapq.heappush(self._deadlines, (active.deadline, active.attempt_pk))

    def expired(self, now: float) -> list[ActiveAttempt]:
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
