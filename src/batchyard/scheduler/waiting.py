"""Why each waiting task waits, decided as dispatch walks its queues, once per task.

Dispatch walks a queue (a named environment's, or the hosts' room that anonymous tasks share) in
order; the ``Queue`` remembers what it has passed: how many instances wait for capacity ahead of
the next task, and the first task they belong to (so the highest priority among them). With the
counts the tick already holds (the task's concurrency counters, its pool's nodes, the hosts' room)
that says why the rest of a task's instances wait, without a look at any instance. The words come
from ``domain.waiting``; ``ReasonBook`` writes a task's reason only when its words change. The tasks
behind the first that finds no place are explained when one of them is new, else at most once a
second (``refresh``). PENDING tasks are explained from their unfinished predecessors, when they are
new and whenever a predecessor ends.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from batchyard.domain.dependencies import Predecessor
from batchyard.domain.states import TERMINAL, State
from batchyard.domain.waiting import Wait, predecessors_unfinished, say
from batchyard.scheduler.fleet import Census, env_pool
from batchyard.scheduler.task_cache import CachedTask
from batchyard.scheduler.tick import Tick
from batchyard.store import scheduling

Facts = dict[str, object]

# Reasons whose instances do not hold back the tasks behind them: those tasks may still be served.
_NOT_HOLDING = frozenset({Wait.MAX_CONCURRENT, Wait.NO_HOST})


@dataclass
class Queue:
    """One queue of waiting tasks as dispatch walks it, in dispatch order."""

    env_pk: int | None  # None: anonymous tasks, waiting for room on the hosts
    in_full: bool = True  # explain every task, also those behind the first that finds no place
    blocked: bool = False  # strict priority: a task found no place, the ones behind it wait too
    ahead: int = 0  # instances waiting for capacity, of the tasks passed so far
    leader: CachedTask | None = None  # the first task passed with instances waiting for capacity
    env_id: str = ""
    seen: set[int] = field(default_factory=set)
    _census: Census | None = None

    def census(self, tick: Tick) -> Census:
        """The environment's nodes, counted once per walk: after the first task that waits for a node,
        dispatch gives none to the tasks behind it."""
        if self._census is None:
            self._census = tick.fleet.census(env_pool(self.env_pk, 0))
        return self._census


def walk(tick: Tick, queue: Queue, candidates: Sequence[Any]) -> Iterator[Any]:
    """The candidate tasks in dispatch order, cut after the first that finds no place unless the walk is
    in full (``refresh``); the tasks cut off keep their reasons a little longer."""
    for task in candidates:
        if queue.blocked and not queue.in_full:
            tick.refresh.walked(queue.env_pk, tick.now, in_full=False)
            return
        yield task
    tick.refresh.walked(queue.env_pk, tick.now, in_full=True)


def note(tick: Tick, queue: Queue, task: Any, runtime: CachedTask, taken: int) -> None:
    """Dispatch gave ``task`` (a candidate row) ``taken`` places: say why the rest of it waits, if any."""
    queue.seen.add(task.pk)
    queue.env_id = runtime.env_id or queue.env_id
    left = int(task.n_runnable) - taken
    if left <= 0:
        tick.reasons.say(task.pk, task.wait_reason, "")
        return
    wait, facts = _why(tick, queue, task, runtime, taken)
    tick.reasons.say(task.pk, task.wait_reason, say(wait, **facts))
    if wait not in _NOT_HOLDING:
        queue.ahead += left
        queue.leader = queue.leader or runtime


def tail(tick: Tick, queue: Queue, unexplained: Iterable[Any]) -> None:
    """New tasks of this queue that dispatch did not reach (beyond the candidates it reads) are told how
    much waits ahead of them at least; their numbers follow once they are among the candidates."""
    wait = Wait.HOSTS_QUEUE_TAIL if queue.env_pk is None else Wait.ENV_QUEUE_TAIL
    reason = say(wait, env=queue.env_id, tasks=len(queue.seen), ahead=queue.ahead)
    for row in unexplained:
        if row.pk not in queue.seen:
            tick.reasons.tell(row.pk, reason)


def _why(tick: Tick, queue: Queue, task: Any, runtime: CachedTask, taken: int) -> tuple[Wait, Facts]:
    limit = runtime.spec.max_concurrent
    if limit and task.n_starting + task.n_running + taken >= limit:
        return Wait.MAX_CONCURRENT, {"limit": limit}
    size: Facts = {"type": runtime.spec.instance_type, "demand": runtime.demand}
    if queue.env_pk is None and not tick.fleet.fits_any(runtime.demand):
        return Wait.NO_HOST, {**size, "largest": tick.fleet.largest_host()}
    leader, ahead = queue.leader, queue.ahead
    if leader is not None and leader.priority > runtime.priority:
        facts: Facts = {"job": leader.job_id, "theirs": leader.priority, "ours": runtime.priority}
        return Wait.BEHIND_JOB, {**facts, "ahead": ahead}
    if queue.env_pk is not None:
        return _node_shortage(queue.census(tick), runtime.env_id or "", ahead)
    if leader is not None:
        return Wait.BEHIND_TASK, {"task": leader.name, "job": leader.job_id, "ahead": ahead}
    return Wait.NO_ROOM, {**size, "free": tick.fleet.most_free()}


def _node_shortage(census: Census, env_id: str, ahead: int) -> tuple[Wait, Facts]:
    if census.ready:
        return Wait.NO_FREE_NODE, {"env": env_id, "busy": census.busy, "nodes": census.ready, "ahead": ahead}
    if census.making:
        return Wait.NODES_BEING_MADE, {"env": env_id, "making": census.making, "ahead": ahead}
    if census.failed:
        return Wait.NODES_FAILED, {"env": env_id, "failed": census.failed}
    return Wait.NO_NODE, {"env": env_id}


# PENDING tasks ----------------------------------------------------------------------------------


def explain_pending(tick: Tick, rows: Sequence[Any]) -> None:
    """New (or retried) PENDING tasks: which predecessors they wait for, all read in one statement."""
    pending = [row for row in rows if row.n_pending and not row.n_runnable]
    unfinished: dict[int, list[str]] = defaultdict(list)
    for pred in scheduling.predecessors_of(tick.conn, [(row.job_pk, row.pk) for row in pending]):
        if State(pred.state) not in TERMINAL:
            unfinished[pred.end_task_pk].append(pred.name)
    for row in pending:
        names = unfinished.get(row.pk)
        tick.reasons.tell(row.pk, predecessors_unfinished(row.depend_on, names) if names else "")


def still_pending(tick: Tick, task_pk: int, depend_on: str, preds: Sequence[Predecessor]) -> None:
    """A predecessor ended, others have not: the task now waits for fewer."""
    names = [p.name for p in preds if p.state not in TERMINAL]
    tick.reasons.tell(task_pk, predecessors_unfinished(depend_on, names))
