"""Everything one tick works with, passed to each step so the steps stay plain functions."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from batchyard.domain.attempts import AttemptSpec
from batchyard.domain.states import State
from batchyard.executors.base import NodeSpec
from batchyard.metrics.scheduler import TickTally
from batchyard.scheduler.batch import Batch
from batchyard.scheduler.fleet import Fleet, Node
from batchyard.scheduler.ledger import Ledger
from batchyard.scheduler.notices import Notices
from batchyard.scheduler.refresh import Refresh
from batchyard.scheduler.task_cache import TaskCache
from batchyard.store import nodes as node_store
from batchyard.store import scheduling


@dataclass
class NodeBook:
    """One tick's node and activity rows, written together at its end; a row made and changed in the
    same tick is inserted once, and one made and removed is never written."""

    inserts: dict[int, dict[str, Any]] = field(default_factory=dict)
    updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    deletes: set[int] = field(default_factory=set)
    new_activities: dict[int, dict[str, Any]] = field(default_factory=dict)
    activity_updates: dict[int, dict[str, Any]] = field(default_factory=dict)

    def insert(self, pk: int, row: dict[str, Any]) -> None:
        self.inserts[pk] = row

    def set(self, node: Node, **values: Any) -> None:
        target = self.inserts.get(node.pk)
        if target is None:
            target = self.updates.setdefault(node.pk, {})
        target.update(values)

    def delete(self, node: Node) -> None:
        self.updates.pop(node.pk, None)
        if self.inserts.pop(node.pk, None) is None:
            self.deletes.add(node.pk)

    def activity(self, pk: int, row: dict[str, Any]) -> None:
        self.new_activities[pk] = row

    def set_activity(self, pk: int, **values: Any) -> None:
        target = self.new_activities.get(pk)
        if target is None:
            target = self.activity_updates.setdefault(pk, {})
        target.update(values)

    def write(self, conn: Connection) -> None:
        node_store.write_nodes(conn, list(self.inserts.values()), self.updates, self.deletes)
        node_store.write_activities(conn, list(self.new_activities.values()), self.activity_updates)


@dataclass
class ReasonBook:
    """One tick's waiting reasons by task, written together at its end; a reason said again as it is
    stored is not written, so a queue that did not move costs no write."""

    changed: dict[int, str | None] = field(default_factory=dict)
    # Some tasks may have no reason yet: submitted since the last tick, or marked by ``unexplain``.
    unexplained: bool = False

    def say(self, task_pk: int, stored: str | None, reason: str) -> None:
        """``stored``: the task's reason as this tick read it (None, never said, reads as "")."""
        if reason == (stored or ""):
            self.changed.pop(task_pk, None)
        else:
            self.changed[task_pk] = reason

    def tell(self, task_pk: int, reason: str) -> None:
        """Write the reason whatever is stored: the caller did not read it, and it has just changed."""
        self.changed[task_pk] = reason

    def unexplain(self, conn: Connection, task_pks: Collection[int]) -> None:
        """These tasks' instances moved to waiting: a tick explains them, this one if dispatch is still
        to come (so the mark is written now, where dispatch looks)."""
        if task_pks:
            scheduling.set_wait_reasons(conn, dict.fromkeys(task_pks))
            for pk in task_pks:
                self.changed.pop(pk, None)
            self.unexplained = True

    def write(self, conn: Connection) -> None:
        scheduling.set_wait_reasons(conn, self.changed)
        self.changed.clear()


@dataclass
class Tick:
    conn: Connection
    now: float
    ledger: Ledger
    fleet: Fleet
    runtimes: TaskCache
    notices: Notices  # the events it stores, written with it
    refresh: Refresh = field(default_factory=Refresh)
    book: NodeBook = field(default_factory=NodeBook)
    reasons: ReasonBook = field(default_factory=ReasonBook)
    touched: set[int] = field(default_factory=set)
    envs: set[int] = field(default_factory=set)  # environments whose node count may need mending
    launches: list[AttemptSpec] = field(default_factory=list)
    cancels: list[int] = field(default_factory=list)
    provisions: list[NodeSpec] = field(default_factory=list)
    retirements: list[str] = field(default_factory=list)
    more: bool = False
    tally: TickTally = field(default_factory=TickTally)  # recorded in the metrics once committed

    def batch(self) -> Batch:
        return Batch(self.touched, self.notices)

    def move_all(self, task_pk: int, source: State, target: State, values: dict[str, Any]) -> int:
        """Move every instance of a task in ``source`` at once; their events are stored first, while
        ``source`` still says which instances they are."""
        self.notices.instances_moving(self.conn, task_pk, source, target)
        return scheduling.move_all(self.conn, task_pk, source, target, values)
