"""The events one tick tells: chosen as its changes are made, stored in its transaction.

Each step of a tick reports what it changed (instances moved, tasks and jobs rolled up, nodes made,
busy, lost or retired, environments gone); what a subscription names becomes an outbox row, written
with the tick (``write``), or at once for a task's instances that move together (one INSERT …
SELECT before their UPDATE). Every report returns at its first line when nothing watches.

A task or job whose instances start and end within one tick goes from STARTING straight to its end
in the store; it still reports RUNNING first, as its instances do, when one of them ran in that tick.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection

from batchyard.domain.nodes import NodeState
from batchyard.domain.notifications import (
    ENV_DELETED,
    EVENT_STATES,
    instance_event,
    job_event,
    node_event,
    task_event,
)
from batchyard.domain.states import TERMINAL, State
from batchyard.domain.times import iso
from batchyard.scheduler.fleet import Node
from batchyard.scheduler.watches import Watch, Watches
from batchyard.store import outbox
from batchyard.store.scheduling import Move

_FINISHED = (State.SUCCEED, State.FAILED)  # a job in these changes no more unless retried


class Notices:
    def __init__(self, watches: Watches, now: float) -> None:
        self.watches = watches
        self.now = now
        self.events: list[outbox.Event] = []
        self.written = 0  # rows stored, by ``write`` and by moves of whole tasks
        self._ran_tasks: set[int] = set()  # watched tasks with an instance that ran in this tick
        self._ran_jobs: set[int] = set()  # watched jobs with a task that reported RUNNING in this tick

    # Instances ---------------------------------------------------------------------------------

    def instances_moved(self, moves: Iterable[Move]) -> None:
        tasks = self.watches.tasks
        if not tasks:
            return
        for move in moves:
            found = tasks.get(move.task_pk)
            if found is not None:
                self._instance_moved(*found, move)

    def _instance_moved(self, watch: Watch, task_name: str, move: Move) -> None:
        """An instance whose start and end share a tick reports RUNNING first: it did run."""
        running_time = move.values.get("running_time")
        if running_time is not None and move.source is not State.RUNNING:
            self._instance(watch, task_name, move.idx, State.RUNNING, running_time)
            self._ran_tasks.add(move.task_pk)
        if move.target in TERMINAL:
            self._instance(watch, task_name, move.idx, move.target, move.values.get("end_time") or self.now)

    def _instance(self, watch: Watch, task_name: str, idx: int, state: State, at: float) -> None:
        event = instance_event(state)
        for target in watch.wants(event):
            batch = {**watch.names, "TaskName": task_name, "TaskInstanceState": state.value}
            self.events.append(
                outbox.Event(target.topic, event, at, watch.region, batch, target.event_vars, idx)
            )

    def instances_moving(self, conn: Connection, task_pk: int, source: State, target: State) -> None:
        """Every instance of a task in ``source`` is about to move to ``target`` in one statement."""
        found = self.watches.tasks.get(task_pk)
        if found is None or target not in EVENT_STATES:
            return
        watch, task_name = found
        event = instance_event(target)
        batch = {**watch.names, "TaskName": task_name, "TaskInstanceState": target.value}
        for t in watch.wants(event):
            row = outbox.Event(t.topic, event, self.now, watch.region, batch, t.event_vars)
            self.written += outbox.add_instances(conn, row, task_pk, source)

    # Tasks and jobs ------------------------------------------------------------------------------

    def tasks_moved(self, moved: Sequence[tuple[Any, State]]) -> None:
        """(task row before the roll-up, its new state) of each task that changed state."""
        if not self.watches.tasks:
            return
        for row, state in moved:
            found = self.watches.tasks.get(row.pk)
            if found is None:
                continue
            watch, task_name = found
            if self._reaches_running(State(row.state), state, row.pk in self._ran_tasks):
                self._task(watch, task_name, State.RUNNING)
                self._ran_jobs.add(row.job_pk)
            if state in TERMINAL:
                self._task(watch, task_name, state)

    def _task(self, watch: Watch, task_name: str, state: State) -> None:
        batch = {**watch.names, "TaskName": task_name, "TaskState": state.value}
        self._emit(watch, task_event(state), batch)

    def job_moved(self, job_pk: int, before: State, state: State) -> None:
        watch = self.watches.jobs.get(job_pk)
        if watch is None:
            return
        if self._reaches_running(before, state, job_pk in self._ran_jobs):
            self._emit(watch, job_event(State.RUNNING), {**watch.names, "JobState": State.RUNNING.value})
        if state in TERMINAL:
            self._emit(watch, job_event(state), {**watch.names, "JobState": state.value})
        if state in _FINISHED:
            self.watches.ended(job_pk)

    @staticmethod
    def _reaches_running(before: State, state: State, ran: bool) -> bool:
        return state is State.RUNNING or (state in TERMINAL and before is not State.RUNNING and ran)

    # Nodes and environments ----------------------------------------------------------------------

    def node(self, node: Node, state: NodeState) -> None:
        """A node entered ``state``: its environment's subscriptions, or those of the job it was made for."""
        if node.env_pk is not None:
            watch, owner = self.watches.envs.get(node.env_pk), {}
        else:
            found = self.watches.tasks.get(node.task_pk or 0)
            if found is None:
                return
            watch, owner = found[0], {"EnvId": None, "EnvName": None, "TaskName": found[1]}
        if watch is not None:
            self._emit(watch, node_event(state), _node_batch(node, state) | watch.names | owner)

    def envs_gone(self, env_pks: Iterable[int]) -> None:
        for env_pk in env_pks:
            watch = self.watches.envs.get(env_pk)
            if watch is not None:
                self._emit(watch, ENV_DELETED, dict(watch.names))
                self.watches.env_gone(env_pk)

    def job_retried(self, conn: Connection, job_pk: int) -> None:
        self.watches.retried(conn, job_pk)

    # Storing -------------------------------------------------------------------------------------

    def _emit(self, watch: Watch, event: str, batch: dict[str, Any]) -> None:
        for target in watch.wants(event):
            self.events.append(
                outbox.Event(target.topic, event, self.now, watch.region, batch, target.event_vars)
            )

    def write(self, conn: Connection) -> None:
        outbox.add(conn, self.events)
        self.written += len(self.events)
        self.events.clear()


def _node_batch(node: Node, state: NodeState) -> dict[str, Any]:
    """The members of the documented example, in its order."""
    return {
        "ComputeNodeId": node.node_id,
        "EnvId": None,
        "ComputeNodeState": state.value,
        "Mem": node.resources.memory_gib,
        "ResourceCreatedTime": iso(node.created_at),
        "EnvName": None,
        "ComputeNodeInstanceId": node.instance_id,
        "Cpu": node.resources.cpu,
    }
