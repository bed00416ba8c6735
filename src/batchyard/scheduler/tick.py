"""Everything one tick works with, passed to each step so the steps stay plain functions."""

from __future__ import annotations

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
class Tick:
    conn: Connection
    now: float
    ledger: Ledger
    fleet: Fleet
    runtimes: TaskCache
    notices: Notices  # the events it stores, written with it
    book: NodeBook = field(default_factory=NodeBook)
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
