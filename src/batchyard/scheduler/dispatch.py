"""Putting runnable instances on nodes of their own environment, highest priority first.

A named environment's nodes take its runnable instances in dispatch order (job priority desc,
submit order, task order, index), so a task waiting for environment A never blocks B. A node
takes as many as its pool's depth allows (``fleet``): one for attempts longer than the scheduler's
round trip. Anonymous tasks use the nodes made for them and get new ones on hosts with room, in
the same order; a task that fits some host but finds no room stops the tasks behind it from taking
room (strict priority), and a node that no host can ever hold is not waited for: the job's
``StateIfCreateCvmFailed`` decides between failing and waiting.

Walking a queue, dispatch also says why the tasks it leaves waiting wait (``waiting``), those
behind the first that finds no place at most every second (``refresh``). A named environment whose
queue cannot move (no free node) is walked again only when its nodes change, a new task joins it or
its reasons are due, so a deep queue behind busy nodes costs a tick nothing.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from batchyard.domain.states import State
from batchyard.scheduler import nodes, waiting
from batchyard.scheduler.fleet import Node
from batchyard.scheduler.ledger import ActiveAttempt
from batchyard.scheduler.task_cache import CachedTask
from batchyard.scheduler.tick import Tick
from batchyard.scheduler.waiting import Queue
from batchyard.store import scheduling

CANDIDATE_TASKS_PER_TICK = 200


def dispatch(tick: Tick) -> None:
    """Plan attempts on nodes with room, make anonymous nodes where needed, write, queue the launches;
    say why the tasks left waiting wait."""
    planned: list[tuple[ActiveAttempt, Node]] = []
    unexplained = _unexplained(tick)
    for env_pk in sorted(_envs_to_walk(tick, unexplained)):
        _fill_env(tick, env_pk, planned, unexplained.get(env_pk, []))
    blocked = _anonymous(tick, planned, unexplained.get(None, []))
    if _retire_unused_anonymous(tick) and blocked:
        tick.more = True  # the room just given back is for the task that found none
    if planned:
        _write(tick, planned)
    tick.fleet.take_changed_envs()  # what dispatch itself changed, the reasons it said already count


def _unexplained(tick: Tick) -> dict[int | None, list[Any]]:
    """Waiting tasks nobody explained yet, if some may be (``ReasonBook.unexplained``): PENDING ones are
    now, RUNNABLE ones (returned by environment, None for anonymous ones) when dispatch walks their
    queue."""
    if not tick.reasons.unexplained:
        return {}
    rows = scheduling.unexplained_tasks(tick.conn)
    tick.reasons.unexplained = False
    waiting.explain_pending(tick, rows)
    runnable: dict[int | None, list[Any]] = defaultdict(list)
    for row in rows:
        if row.n_runnable:
            runnable[row.env_pk].append(row)
    return runnable


def _envs_to_walk(tick: Tick, unexplained: dict[int | None, list[Any]]) -> set[int]:
    """Environments with runnable tasks that have free nodes, or whose waiting reasons may have changed:
    their nodes changed, they have tasks not yet explained, or their reasons are due (``refresh``). An
    environment whose queue is stuck behind busy nodes is not read again until one of those happens."""
    open_envs = {key for kind, key in tick.fleet.open_pools() if kind == "env" and key is not None}
    due = tick.refresh.due(tick.now)
    wanted = open_envs | due | tick.fleet.take_changed_envs() | {pk for pk in unexplained if pk is not None}
    if not wanted:
        return set()
    walk = wanted & scheduling.envs_with_runnable(tick.conn)
    tick.refresh.forget(due - walk)
    return walk


def _fill_env(tick: Tick, env_pk: int, planned: list[tuple[ActiveAttempt, Node]], new: list[Any]) -> None:
    pool = ("env", env_pk)
    before = len(planned)
    candidates = scheduling.dispatch_candidates(tick.conn, env_pk, CANDIDATE_TASKS_PER_TICK)
    tick.runtimes.load(tick.conn, [task.pk for task in candidates])
    queue = Queue(env_pk, in_full=tick.refresh.in_full(env_pk, tick.now, bool(new)))
    for task in waiting.walk(tick, queue, candidates):
        runtime = tick.runtimes.get(tick.conn, task.pk)
        if runtime.fault is not None:
            _fail_runnable(tick, task.pk, runtime.fault)
            continue
        room = _concurrency_room(runtime, task)
        free = [] if queue.blocked else tick.fleet.places(pool, task.pk)
        # Strict priority: a task waiting for a node is not overtaken by one queueing deeper.
        queue.blocked = queue.blocked or bool(room and not free)
        waiting.note(tick, queue, task, runtime, _plan(tick, runtime, task, free[:room], planned))
    waiting.tail(tick, queue, new)
    if not queue.blocked and _may_have_more(candidates, len(planned) > before) and tick.fleet.has_open(pool):
        tick.more = True


def _anonymous(tick: Tick, planned: list[tuple[ActiveAttempt, Node]], new: list[Any]) -> bool:
    """Returns True if a task found no room for its nodes (and the tasks behind it waited)."""
    candidates = scheduling.dispatch_candidates(tick.conn, None, CANDIDATE_TASKS_PER_TICK)
    tick.runtimes.load(tick.conn, [task.pk for task in candidates])
    before = len(planned), len(tick.provisions)
    queue = Queue(None, in_full=tick.refresh.in_full(None, tick.now, bool(new)))
    for task in waiting.walk(tick, queue, candidates):
        runtime = tick.runtimes.get(tick.conn, task.pk)
        if runtime.fault is not None:
            _fail_runnable(tick, task.pk, runtime.fault)
            continue
        taken = 0 if queue.blocked else _serve_anonymous(tick, queue, runtime, task, planned)
        if taken is not None:
            waiting.note(tick, queue, task, runtime, taken)
    waiting.tail(tick, queue, new)
    if queue.blocked:
        return True
    if _may_have_more(candidates, (len(planned), len(tick.provisions)) != before):
        tick.more = True
    return False


def _serve_anonymous(
    tick: Tick, queue: Queue, runtime: CachedTask, task: Any, planned: list[tuple[ActiveAttempt, Node]]
) -> int | None:
    """Give an anonymous task its own free nodes, then new ones on hosts with room; returns how many
    instances got a place (None: its instances failed, none waits). A task that fits some host but
    finds no room blocks the queue: the tasks behind it take no room (strict priority)."""
    room = _concurrency_room(runtime, task)
    used = _plan(tick, runtime, task, tick.fleet.places(("task", task.pk), task.pk)[:room], planned)
    wanted = min(task.n_runnable, room) - used
    if wanted <= 0:
        return used
    if not tick.fleet.fits_any(runtime.demand):
        return used if _no_host(tick, runtime) else None
    made = _make_nodes(tick, runtime, wanted)
    _plan(tick, runtime, task, made, planned, offset=used)
    queue.blocked = len(made) < wanted
    return used + len(made)


def _may_have_more(candidates: list[Any], progressed: bool) -> bool:
    """Tasks beyond the candidates read may be served by another tick at once, if this one got
    somewhere (when it did not, the next would read the same candidates and get nowhere either)."""
    return progressed and len(candidates) == CANDIDATE_TASKS_PER_TICK


def _make_nodes(tick: Tick, runtime: CachedTask, wanted: int) -> list[Node]:
    """Make up to ``wanted`` nodes for an anonymous task, as many as hosts have room for.

    Each takes one of the task's instances at once: its attempt starts as soon as the node is ready,
    so a new node costs no second tick.
    """
    made = []
    for _ in range(wanted):
        host = tick.fleet.place(runtime.demand)
        if host is None:
            break
        node = nodes.make(
            tick,
            env_pk=None,
            task_pk=runtime.task_pk,
            instance_type=runtime.spec.instance_type,
            resources=runtime.demand,
        )
        nodes.provision(tick, node, host)
        made.append(node)
    return made


def _retire_unused_anonymous(tick: Tick) -> int:
    """An anonymous node idle after dispatch has no instance of its task to run: it is retired."""
    retired = 0
    for kind, key in tick.fleet.open_pools():
        if kind == "task":
            for node in tick.fleet.idle((kind, key)):
                nodes.retire(tick, node)
                retired += 1
    return retired


def _concurrency_room(runtime: CachedTask, task: Any) -> int:
    """How many more instances of a task may start now, by its MaxConcurrentNum."""
    limit = runtime.spec.max_concurrent
    room = int(task.n_runnable)
    if limit:
        room = min(room, limit - task.n_starting - task.n_running)
    return max(0, room)


def _plan(
    tick: Tick,
    runtime: CachedTask,
    task: Any,
    free: list[Node],
    planned: list[tuple[ActiveAttempt, Node]],
    offset: int = 0,
) -> int:
    """Put the task's first runnable instances (after ``offset`` already planned this tick) in these free
    places on nodes; returns how many it took."""
    if not free:
        return 0
    instances = scheduling.runnable_instances(tick.conn, task.pk, len(free), offset)
    waits = tick.tally.queue_waits
    for instance, node in zip(instances, free, strict=False):
        attempt = ActiveAttempt(
            tick.ledger.new_attempt_pk(),
            task.pk,
            instance.idx,
            instance.attempts + 1,
            State.STARTING,
            runtime.spec.timeout,
            node.node_id,
            launched_at=tick.now,
        )
        nodes.assign(tick, node, attempt.attempt_pk, task.pk)
        planned.append((attempt, node))
        if instance.runnable_time is not None:  # None: it became RUNNABLE before this was recorded
            waits.append(tick.now - instance.runnable_time)
    return min(len(instances), len(free))


def _no_host(tick: Tick, runtime: CachedTask) -> bool:
    """No host could ever hold this task's nodes: fail its waiting instances, or let them wait (True)."""
    reason = nodes.no_host_reason(runtime.spec.instance_type, runtime.demand)
    if runtime.if_node_fails == "RUNNABLE":
        if tick.fleet.note_waiting(runtime.task_pk):
            scheduling.set_reason(tick.conn, runtime.task_pk, State.RUNNABLE, reason + " Waiting for one.")
        return True
    _fail_runnable(tick, runtime.task_pk, reason)
    return False


def _fail_runnable(tick: Tick, task_pk: int, reason: str) -> None:
    tick.move_all(task_pk, State.RUNNABLE, State.FAILED, {"reason": reason, "end_time": tick.now})
    tick.touched.add(task_pk)


def _write(tick: Tick, planned: list[tuple[ActiveAttempt, Node]]) -> None:
    batch = tick.batch()
    rows = []
    for plan, node in planned:
        batch.move(
            plan.task_pk,
            plan.idx,
            State.RUNNABLE,
            State.STARTING,
            attempts=plan.number,
            node_instance_id=node.instance_id,
            launch_time=tick.now,
            running_time=None,
            end_time=None,
            exit_code=None,
            reason="",
        )
        rows.append(
            {
                "pk": plan.attempt_pk,
                "task_pk": plan.task_pk,
                "idx": plan.idx,
                "number": plan.number,
                "node_instance_id": node.instance_id,
                "state": State.STARTING.value,
                "launch_time": tick.now,
                "reason": "",
            }
        )
    scheduling.insert_attempts(tick.conn, rows)
    batch.write(tick.conn)
    for plan, node in planned:
        tick.ledger.add(plan)
        runtime = tick.runtimes.get(tick.conn, plan.task_pk)
        tick.launches.append(runtime.attempt(plan.attempt_pk, plan.idx, node.node_id))
