"""Putting runnable instances on free capacity, highest priority first, first come first served."""

from __future__ import annotations

from batchyard.domain.ids import new_id
from batchyard.domain.states import State
from batchyard.executors.base import Resources
from batchyard.scheduler.batch import Batch
from batchyard.scheduler.ledger import Active
from batchyard.scheduler.tick import Tick
from batchyard.store import scheduling

CANDIDATE_TASKS_PER_TICK = 200


def dispatch(tick: Tick) -> None:
    """Plan attempts while they fit, write them, then queue their launches for after the commit."""
    free = tick.ledger.free
    overtaken = Resources(0, 0)
    planned: list[Active] = []
    candidates = scheduling.dispatch_candidates(tick.conn, CANDIDATE_TASKS_PER_TICK)
    tick.runtimes.load(tick.conn, [task.pk for task in candidates])
    for task in candidates:
        runtime = tick.runtimes.get(tick.conn, task.pk)
        if runtime.fault is not None:
            _fail_unrunnable(tick, task.pk, runtime.fault)
            continue
        active = task.n_starting + task.n_running
        limit = runtime.spec.max_concurrent
        if limit and active >= limit:
            continue  # held back by its own MaxConcurrentNum, not waiting for room: others may go
        room = _room(free, runtime.demand, task.n_runnable, limit, active)
        if room == 0 and not free.fits(runtime.demand):
            # Attempts handed over earlier but still waiting on the executor yield to better-ranked
            # work: the executor starts its queue in rank order, so this cannot invert priorities.
            extra = tick.ledger.displaceable(runtime.rank(0)[:3]) - overtaken
            room = _room(free + extra, runtime.demand, task.n_runnable, limit, active)
            if room == 0:
                break  # strict priority order: nothing jumps a task that is waiting for room
            overtaken += Resources(runtime.demand.cpu * room, runtime.demand.memory_gib * room)
        for instance in scheduling.runnable_instances(tick.conn, task.pk, room):
            attempt = Active(
                0,
                task.pk,
                instance.idx,
                instance.attempts + 1,
                State.STARTING,
                runtime.demand,
                runtime.spec.timeout,
                runtime.rank(instance.idx),
            )
            planned.append(attempt)
            free -= runtime.demand
    if not planned:
        return
    batch = tick.batch()
    for plan in planned:
        plan.attempt_pk = tick.ledger.new_attempt_pk()
    scheduling.insert_attempts(tick.conn, [_new_attempt(batch, plan, tick.now) for plan in planned])
    batch.write(tick.conn)
    for plan in planned:
        tick.ledger.add(plan)
        tick.launches.append(tick.runtimes.get(tick.conn, plan.task_pk).attempt(plan.attempt_pk, plan.idx))
    tick.more = len(candidates) == CANDIDATE_TASKS_PER_TICK


def _fail_unrunnable(tick: Tick, task_pk: int, reason: str) -> None:
    scheduling.move_all(
        tick.conn, task_pk, State.RUNNABLE, State.FAILED, {"reason": reason, "end_time": tick.now}
    )
    tick.touched.add(task_pk)


def _room(free: Resources, demand: Resources, runnable: int, max_concurrent: int | None, active: int) -> int:
    """How many more instances of a task may start now."""
    room = runnable
    if demand.cpu:
        room = min(room, free.cpu // demand.cpu)
    if demand.memory_gib:
        room = min(room, free.memory_gib // demand.memory_gib)
    if max_concurrent:
        room = min(room, max_concurrent - active)
    return max(0, room)


def _new_attempt(batch: Batch, plan: Active, now: float) -> dict[str, object]:
    node = new_id("ins")
    batch.move(
        plan.task_pk,
        plan.idx,
        State.RUNNABLE,
        State.STARTING,
        attempts=plan.number,
        node_instance_id=node,
        launch_time=now,
        running_time=None,
        end_time=None,
        exit_code=None,
        reason="",
    )
    return {
        "pk": plan.attempt_pk,
        "task_pk": plan.task_pk,
        "idx": plan.idx,
        "number": plan.number,
        "node_instance_id": node,
        "state": State.STARTING.value,
        "launch_time": now,
        "reason": "",
    }
