"""The controller loop: the only writer of instance states.

It sleeps until something happens (a submit, an attempt event), then runs one tick in a worker
thread: apply every pending event in one batch, roll tasks and jobs up, release or fail dependent
tasks, dispatch runnable instances onto free capacity, and commit all of it in one transaction
before anything is launched.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection

from batchyard.domain.dependencies import Predecessor, blocking
from batchyard.domain.ids import new_id
from batchyard.domain.states import TERMINAL, State, check_transition, roll_up
from batchyard.executors.base import (
    AttemptEvent,
    AttemptFinished,
    AttemptSpec,
    AttemptStarted,
    Executor,
    Failure,
    Resources,
)
from batchyard.scheduler.runtime import RuntimeCache
from batchyard.store import scheduling
from batchyard.store.database import Database
from batchyard.store.scheduling import Move

log = logging.getLogger(__name__)

# Retries for attempts that failed through no fault of the command (lost node, failed upload),
# on top of the task's own MaxRetryCount.
SYSTEM_RETRIES = 3
_CANDIDATE_TASKS_PER_TICK = 200
_RETRY_DELAY_AFTER_ERROR_S = 1.0


@dataclass
class _Active:
    task_pk: int
    idx: int
    number: int
    state: State
    demand: Resources


class _Batch:
    """One tick's writes, coalesced per instance and per attempt so grouped statements never race."""

    def __init__(self) -> None:
        self.moves: dict[tuple[int, int], Move] = {}
        self.attempts: dict[int, dict[str, object]] = {}
        self.touched_tasks: set[int] = set()

    def move(self, task_pk: int, idx: int, source: State, target: State, **values: object) -> None:
        check_transition(source, target)
        earlier = self.moves.get((task_pk, idx))
        if earlier is not None:
            source, values = earlier.source, {**earlier.values, **values}
        self.moves[(task_pk, idx)] = Move(task_pk, idx, source, target, values)
        self.touched_tasks.add(task_pk)

    def attempt(self, attempt_pk: int, **values: object) -> None:
        self.attempts.setdefault(attempt_pk, {"b_pk": attempt_pk}).update(values)

    def write(self, conn: Connection) -> None:
        scheduling.apply_moves(conn, [m for m in self.moves.values() if m.source is not m.target])
        scheduling.update_attempts(conn, self.attempts.values())


class Scheduler:
    def __init__(self, db: Database, executor: Executor, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._executor = executor
        self._clock = clock
        self._capacity = executor.capacity()
        self._used = Resources(0, 0)
        self._active: dict[int, _Active] = {}
        self._runtimes = RuntimeCache(self._capacity)
        self._events: list[AttemptEvent] = []
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Re-attach attempts that were running before a restart, then start the loop."""
        self._loop = asyncio.get_running_loop()
        await self._executor.start(self._on_event)
        specs = await asyncio.to_thread(self._recover)
        self._executor.reattach(specs)
        log.info("scheduler started: %d attempts re-attached, capacity %s", len(specs), self._capacity)
        self._task = asyncio.create_task(self._run(), name="scheduler")
        self._wakeup.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        await self._executor.stop()
        log.info("scheduler stopped; %d attempts left running for the next start", len(self._active))

    def wake(self) -> None:
        """Ask for a tick soon; safe to call from any thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wakeup.set)

    def _on_event(self, event: AttemptEvent) -> None:
        self._events.append(event)
        self._wakeup.set()

    async def _run(self) -> None:
        while not self._stopping:
            await self._wakeup.wait()
            self._wakeup.clear()
            if self._stopping:
                break
            events, self._events = self._events, []
            try:
                launches, more = await asyncio.to_thread(self._tick, events)
            except Exception:
                log.exception("scheduler tick failed; retrying")
                self._events[:0] = events
                await asyncio.sleep(_RETRY_DELAY_AFTER_ERROR_S)
                self._wakeup.set()
                continue
            self._executor.launch(launches)
            if more:
                self._wakeup.set()

    def _recover(self) -> list[AttemptSpec]:
        specs = []
        with self._db.read() as conn:
            for row in scheduling.active_attempts(conn):
                runtime = self._runtimes.get(conn, row.task_pk)
                self._active[row.pk] = _Active(
                    row.task_pk, row.idx, row.number, State(row.state), runtime.demand
                )
                self._used += runtime.demand
                specs.append(runtime.attempt(row.pk, row.idx))
        return specs

    def _tick(self, events: list[AttemptEvent]) -> tuple[list[AttemptSpec], bool]:
        now = self._clock()
        batch = _Batch()
        with self._db.write() as conn:
            for event in events:
                self._apply(conn, batch, event)
            batch.write(conn)
            self._settle(conn, batch.touched_tasks, now)
            return self._dispatch(conn, now)

    def _apply(self, conn: Connection, batch: _Batch, event: AttemptEvent) -> None:
        active = self._active.get(event.attempt_pk)
        if active is None:
            return  # already recorded: events are applied at most once
        if isinstance(event, AttemptStarted):
            if active.state is State.STARTING:
                batch.move(active.task_pk, active.idx, State.STARTING, State.RUNNING, running_time=event.at)
                batch.attempt(event.attempt_pk, state=State.RUNNING.value, running_time=event.at)
                active.state = State.RUNNING
            return
        self._finish(conn, batch, active, event)

    def _finish(self, conn: Connection, batch: _Batch, active: _Active, event: AttemptFinished) -> None:
        del self._active[event.attempt_pk]
        self._used -= active.demand
        spec = self._runtimes.get(conn, active.task_pk).spec
        target = self._outcome(event, active.number, spec.max_retry, spec.failed_action)
        attempt_state = State.SUCCEED if event.failure is Failure.NONE else State.FAILED
        batch.attempt(
            event.attempt_pk,
            state=attempt_state.value,
            end_time=event.at,
            exit_code=event.exit_code,
            reason=event.reason,
        )
        end_time = None if target is State.RUNNABLE else event.at
        reason = event.reason
        if target is State.RUNNABLE:
            reason = f"Attempt {active.number} failed and will be retried: {event.reason}"
        batch.move(
            active.task_pk,
            active.idx,
            active.state,
            target,
            end_time=end_time,
            exit_code=event.exit_code,
            reason=reason,
        )

    @staticmethod
    def _outcome(event: AttemptFinished, number: int, max_retry: int, failed_action: str) -> State:
        if event.failure is Failure.NONE:
            return State.SUCCEED
        budget = max_retry + (SYSTEM_RETRIES if event.failure is Failure.SYSTEM else 0)
        if number <= budget:
            return State.RUNNABLE
        return State.FAILED_INTERRUPTED if failed_action in ("INTERRUPT", "FAST_INTERRUPT") else State.FAILED

    def _settle(self, conn: Connection, task_pks: set[int], now: float) -> None:
        """Roll touched tasks up; a task that ends releases or fails its successors, and so on."""
        queue = sorted(task_pks)
        jobs: set[int] = set()
        while queue:
            row = scheduling.task_rows(conn, [queue.pop()])[0]
            state = roll_up({s: row._mapping[f"n_{s.value.lower()}"] for s in State})
            if state.value == row.state:
                continue
            scheduling.set_task_state(conn, row.pk, state, now if state in TERMINAL else None)
            jobs.add(row.job_pk)
            if state in TERMINAL:
                self._runtimes.forget(row.pk)
                queue.extend(self._resolve_successors(conn, row.pk, row.job_pk, now))
        for job_pk in jobs:
            self._roll_up_job(conn, job_pk, now)

    def _resolve_successors(self, conn: Connection, task_pk: int, job_pk: int, now: float) -> list[int]:
        depend_on = scheduling.job_of(conn, job_pk).depend_on
        changed = []
        for successor in scheduling.successors(conn, task_pk):
            preds = [
                Predecessor(p.name, State(p.state), p.n_succeed)
                for p in scheduling.predecessors(conn, successor)
            ]
            ready, culprit = blocking(preds, depend_on)
            if not ready:
                continue
            if culprit is None:
                scheduling.move_all(conn, successor, State.PENDING, State.RUNNABLE, {})
            else:
                reason = (
                    f"Not run: predecessor task `{culprit.name}` ended {culprit.state.value} ({depend_on})."
                )
                scheduling.move_all(
                    conn, successor, State.PENDING, State.FAILED, {"reason": reason, "end_time": now}
                )
            changed.append(successor)
        return changed

    def _roll_up_job(self, conn: Connection, job_pk: int, now: float) -> None:
        state = roll_up(scheduling.task_state_counts(conn, job_pk))
        reason = ""
        if state in (State.FAILED, State.FAILED_INTERRUPTED):
            reason = f"Task `{scheduling.first_failed_task(conn, job_pk)}` ended {state.value}."
        scheduling.set_job_state(conn, job_pk, state, now if state in TERMINAL else None, reason)

    def _dispatch(self, conn: Connection, now: float) -> tuple[list[AttemptSpec], bool]:
        """Start runnable instances in priority order while they fit; returns launches and 'more to do'."""
        free = self._capacity - self._used
        batch = _Batch()
        planned: list[_Active] = []
        candidates = scheduling.dispatch_candidates(conn, _CANDIDATE_TASKS_PER_TICK)
        for task in candidates:
            runtime = self._runtimes.get(conn, task.pk)
            active = task.n_starting + task.n_running
            room = _room(free, runtime.demand, task.n_runnable, runtime.spec.max_concurrent, active)
            if room == 0 and not free.fits(runtime.demand):
                break  # strict priority order: no smaller task jumps a larger one ahead of it
            for instance in scheduling.runnable_instances(conn, task.pk, room):
                planned.append(
                    _Active(task.pk, instance.idx, instance.attempts + 1, State.STARTING, runtime.demand)
                )
                free -= runtime.demand
        rows = [self._new_attempt(batch, plan, now) for plan in planned]
        pks = scheduling.insert_attempts(conn, rows)
        batch.write(conn)
        launches = []
        for pk, plan in zip(pks, planned, strict=True):
            self._active[pk] = plan
            self._used += plan.demand
            launches.append(self._runtimes.get(conn, plan.task_pk).attempt(pk, plan.idx))
        self._settle(conn, batch.touched_tasks, now)
        return launches, len(candidates) == _CANDIDATE_TASKS_PER_TICK and bool(launches)

    @staticmethod
    def _new_attempt(batch: _Batch, plan: _Active, now: float) -> dict[str, object]:
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
            "task_pk": plan.task_pk,
            "idx": plan.idx,
            "number": plan.number,
            "node_instance_id": node,
            "state": State.STARTING.value,
            "launch_time": now,
            "reason": "",
        }


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
