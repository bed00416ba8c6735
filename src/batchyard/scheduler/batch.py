"""One tick's instance and attempt writes, coalesced so that grouped statements never race."""

from __future__ import annotations

from sqlalchemy import Connection

from batchyard.domain.states import State, check_transition
from batchyard.scheduler.notices import Notices
from batchyard.store import scheduling
from batchyard.store.scheduling import Move


class Batch:
    def __init__(self, touched: set[int], notices: Notices) -> None:
        self.moves: dict[tuple[int, int], Move] = {}
        self.attempts: dict[int, dict[str, object]] = {}
        self.touched = touched
        self.notices = notices

    def move(self, task_pk: int, idx: int, source: State, target: State, **values: object) -> None:
        check_transition(source, target)
        earlier = self.moves.get((task_pk, idx))
        if earlier is not None:
            source, values = earlier.source, {**earlier.values, **values}
        self.moves[(task_pk, idx)] = Move(task_pk, idx, source, target, values)
        self.touched.add(task_pk)

    def attempt(self, attempt_pk: int, **values: object) -> None:
        self.attempts.setdefault(attempt_pk, {"b_pk": attempt_pk}).update(values)

    def write(self, conn: Connection) -> None:
        moves = [m for m in self.moves.values() if m.source is not m.target]
        self.notices.instances_moved(moves)
        scheduling.apply_moves(conn, moves)
        scheduling.update_attempts(conn, self.attempts.values())
        self.moves.clear()
        self.attempts.clear()
