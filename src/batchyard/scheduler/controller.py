"""The controller loop: the only writer of instance states.

It sleeps until something happens (a submit, a node or attempt event, a user's request, the next
timeout), then runs one tick in a worker thread. A tick applies every pending event in one batch,
carries out requests, notices timeouts, rolls tasks and jobs up, releases or fails dependent tasks,
keeps environments at their size and dispatches runnable instances onto idle nodes, all in one
transaction; only after the commit does it retire, kill, provision or launch anything, so the
store never lags behind the nodes. Under load, ticks come at most every ``MIN_TICK_INTERVAL_S``
and each applies every event that arrived meanwhile, so the batches grow with the load.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from batchyard.domain.attempts import Failure
from batchyard.domain.nodes import NodeState, Origin
from batchyard.domain.resources import Resources
from batchyard.domain.states import State
from batchyard.executors.base import (
    AttachedAttempt,
    AttachedNode,
    AttemptFinished,
    AttemptStarted,
    Event,
    Executor,
    NodeReady,
    NodeSpec,
    describe_hosts,
)
from batchyard.metrics.scheduler import SchedulerMetrics
from batchyard.scheduler import nodes
from batchyard.scheduler.dispatch import dispatch
from batchyard.scheduler.envs import Environments
from batchyard.scheduler.fleet import Fleet, Node
from batchyard.scheduler.intents import cancel, carry_out
from batchyard.scheduler.ledger import ActiveAttempt, Cancel, Ledger
from batchyard.scheduler.notices import Notices
from batchyard.scheduler.outcomes import apply_events
from batchyard.scheduler.refresh import Refresh
from batchyard.scheduler.rollup import roll_up_touched
from batchyard.scheduler.task_cache import TaskCache
from batchyard.scheduler.tick import Tick
from batchyard.scheduler.watches import Watches
from batchyard.store import nodes as node_store
from batchyard.store import scheduling
from batchyard.store.database import Database
from batchyard.store.unavailable import StoreUnavailable

log = logging.getLogger(__name__)

_RETRY_DELAY_AFTER_ERROR_S = 1.0
# How long a RUNNING transition may wait to be written, so that it shares a tick with others.
START_RECORD_DELAY_S = 0.02
# Under load, ticks start at most this often, so each one carries many events; nodes hold enough
# work meanwhile (``fleet``: their depth follows the round trip). An idle scheduler reacts at once.
MIN_TICK_INTERVAL_S = 0.02
LOST_WITHOUT_NODE = "The attempt's compute node is unknown after a restart; the attempt is counted as lost."


@dataclass
class Recovered:
    """What the store says was on the nodes when the server stopped, for the executor to take back."""

    nodes: list[AttachedNode] = field(default_factory=list)
    attempts: list[AttachedAttempt] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


class Scheduler:
    def __init__(
        self,
        db: Database,
        executor: Executor,
        catalog: Mapping[str, Resources],
        clock: Callable[[], float] = time.time,
        metrics: SchedulerMetrics | None = None,
        notify: Callable[[], None] = lambda: None,
    ) -> None:
        """``catalog``: what each instance type reserves, for the nodes of named environments.
        ``notify``: tells the delivery of notifications that a tick stored events."""
        self._db = db
        self._notify = notify
        self._watches = Watches()
        self._executor = executor
        self._clock = clock
        self._metrics = SchedulerMetrics() if metrics is None else metrics
        self._ledger = Ledger()
        self._fleet = Fleet(executor.hosts(), executor.MOVES_DATA)
        self._envs = Environments(catalog)
        self._runtimes = TaskCache()
        self._refresh = Refresh()  # when queues' waiting reasons are due to be said again
        self._events: list[Event] = []
        # Nodes found retired but still here at start-up (the server stopped between the two): the
        # first tick lets them go.
        self._leftover_nodes: list[Node] = []
        self._waiters: list[threading.Event] = []
        self._intents = True  # check the store for intents on the first tick
        # Check the store for tasks no one has explained yet: on the first tick (after an upgrade or a
        # restart), after a submit, and after a tick that left some.
        self._new_tasks = True
        self._start_timer: asyncio.TimerHandle | None = None
        self._answer_from: float | None = None  # when the oldest end of an attempt not yet answered came
        self._urgent = asyncio.Event()  # a user is waiting: skip (or cut short) the batching pause
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Re-attach attempts that were running before a restart, then start the loop."""
        self._loop = asyncio.get_running_loop()
        await self._executor.start(self._on_event)
        recovered = await asyncio.to_thread(self._recover)
        self._executor.reattach(recovered.nodes, recovered.attempts)
        self._executor.cancel(recovered.cancelled)
        log.info(
            "scheduler started: %d nodes and %d attempts re-attached; hosts: %s",
            len(recovered.nodes),
            len(recovered.attempts),
            describe_hosts(self._executor.hosts()),
        )
        self._task = asyncio.create_task(self._run(), name="scheduler")
        self._wakeup.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        await self._executor.stop()
        log.info("scheduler stopped; %d attempts left running for the next start", len(self._ledger))

    def wake(self) -> None:
        """Ask for a tick now (new work was submitted); safe to call from any thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._submitted)

    def _submitted(self) -> None:
        self._new_tasks = True
        self._wake_urgently()

    def _wake_urgently(self) -> None:
        self._urgent.set()
        self._wakeup.set()

    def settle_now(self, timeout: float = 2.0) -> None:
        """Wake the scheduler and wait (from a worker thread) until a tick has run since this call.

        Used after recording an intent, so that a TerminateJob or RetryJobs caller sees its effect
        in the very next Describe.
        """
        if self._loop is None:
            return
        done = threading.Event()
        self._loop.call_soon_threadsafe(self._add_waiter, done)
        done.wait(timeout)

    def _add_waiter(self, done: threading.Event) -> None:
        self._waiters.append(done)
        self._intents = True
        self._wake_urgently()

    def _on_event(self, event: Event) -> None:
        """Starts only need recording soon; everything else (a node freed or changed) wakes the loop,
        and a node made ready has instances waiting for it: that skips the batching pause."""
        self._events.append(event)
        if isinstance(event, AttemptFinished) and self._answer_from is None:
            self._answer_from = time.monotonic()
        if isinstance(event, NodeReady):
            self._wake_urgently()
        elif not isinstance(event, AttemptStarted):
            self._wakeup.set()
        elif self._start_timer is None:
            self._start_timer = self._loop_or_fail().call_later(START_RECORD_DELAY_S, self._wake_for_starts)

    def _wake_for_starts(self) -> None:
        self._start_timer = None
        self._wakeup.set()

    def _loop_or_fail(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("Scheduler.start() was not awaited")
        return self._loop

    async def _run(self) -> None:
        last = 0.0
        while not self._stopping:
            await self._sleep_until_needed()
            pause = last + MIN_TICK_INTERVAL_S - time.monotonic()
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._urgent.wait(), pause)
            self._urgent.clear()
            last = time.monotonic()
            if self._stopping:
                break
            events, self._events = self._events, []
            answering, self._answer_from = self._answer_from, None
            waiters, self._waiters = self._waiters, []
            intents, self._intents = self._intents, False
            new_tasks, self._new_tasks = self._new_tasks, False
            began = time.monotonic()
            try:
                tick = await asyncio.to_thread(self._tick, events, intents, new_tasks)
            except Exception as exc:
                _log_failure("scheduler tick failed; reloading its state from the store and retrying", exc)
                self._events[:0] = events
                self._answer_from = answering if answering is not None else self._answer_from
                self._waiters[:0] = waiters
                self._intents = self._new_tasks = True
                await asyncio.sleep(_RETRY_DELAY_AFTER_ERROR_S)
                await self._reload()
                self._wakeup.set()
                continue
            self._new_tasks = self._new_tasks or tick.reasons.unexplained
            self._executor.retire(tick.retirements)
            self._executor.cancel(tick.cancels)
            self._executor.provision(tick.provisions)
            self._executor.launch(tick.launches)
            # A node whose queue ran dry waits this long for its next attempt: its queue must hold that
            # long. Counted from the first end of an attempt this tick answers (idle time is not).
            if answering is not None:
                self._fleet.observe_round_trip(time.monotonic() - answering)
            self._metrics.tick_took(time.monotonic() - began)
            if tick.notices.written:
                self._notify()
            for waiter in waiters:
                waiter.set()
            if tick.more:
                self._wakeup.set()

    async def _sleep_until_needed(self) -> None:
        """Until woken, or the next timeout, or the next queue owed its waiting reasons."""
        deadlines = [d for d in (self._ledger.next_deadline(), self._refresh.next_due()) if d is not None]
        timeout = max(0.0, min(deadlines) - self._clock()) if deadlines else None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout)
        self._wakeup.clear()

    def _tick(self, events: list[Event], intents: bool, new_tasks: bool) -> Tick:
        with self._db.write() as conn:
            now = self._clock()
            self._watches.refresh(conn)
            notices = Notices(self._watches, now)
            tick = Tick(conn, now, self._ledger, self._fleet, self._runtimes, notices, self._refresh)
            tick.reasons.unexplained = new_tasks
            apply_events(tick, events)
            for node in self._leftover_nodes:
                if node.state is NodeState.DELETING and not node.queue and tick.fleet.get(node.node_id):
                    nodes.gone(tick, node)
            self._leftover_nodes.clear()
            if intents:
                carry_out(tick)
            if intents or tick.envs:
                self._envs.carry_out(tick)
            for active in tick.ledger.expired(tick.now):
                timeout = f"The command timed out after {active.timeout} s and was killed."
                cancel(tick, [active], timeout, retry=True)
            roll_up_touched(tick)
            nodes.place_waiting(tick)
            dispatch(tick)
            roll_up_touched(tick)
            tick.more = tick.more or tick.reasons.unexplained  # released after dispatch: explained next
            tick.reasons.write(conn)
            tick.book.write(conn)
            self._envs.finish_deletions(tick)  # after its nodes' rows are written: it takes them along
            tick.notices.write(conn)
        self._metrics.record(tick.tally)
        return tick

    async def _reload(self) -> None:
        """Forget what a failed tick changed in memory: the store, rolled back, is the truth.

        Events of that tick are applied again, and intents, timeouts and kills are decided again.
        """
        while not self._stopping:
            self._ledger = Ledger()
            self._fleet = Fleet(self._executor.hosts(), self._executor.MOVES_DATA)
            self._watches.reset()
            self._envs = Environments(self._envs.catalog)
            self._refresh = Refresh()
            try:
                await asyncio.to_thread(self._recover)
                return
            except Exception as exc:
                _log_failure("reloading the scheduler's state failed; retrying", exc)
                await asyncio.sleep(_RETRY_DELAY_AFTER_ERROR_S)

    def _recover(self) -> Recovered:
        """Rebuild the ledger and the fleet from the store: nodes, attempts still on them, held nodes.

        Returns what the executor must take back, and the attempts being killed (their kills were
        promised before the restart, so they are carried out again). An attempt whose task cannot be
        read, or whose node is unknown (it began before nodes were recorded), ends rather than
        stopping the start.
        """
        found = Recovered()
        with self._db.read() as conn:
            self._ledger.last_attempt_pk = scheduling.last_attempt_pk(conn)
            self._fleet.last_node_pk, self._fleet.last_activity_pk = node_store.last_pks(conn)
            activities = {row.node_id: row.pk for row in node_store.open_activities(conn)}
            by_instance: dict[str, Node] = {}
            for row in node_store.all_nodes(conn):
                node = _node(row, activities.get(row.node_id))
                self._fleet.add(node)
                by_instance[node.instance_id] = node
                if node.host is not None and node.state is not NodeState.CREATION_FAILED:
                    spec = NodeSpec(node.node_id, node.host, node.resources)
                    found.nodes.append(AttachedNode(row.handle, spec))
            self._envs.recover(node_store.deleting_envs(conn))
            for row in scheduling.active_attempts(conn):  # in attempt order: each node's queue in order
                self._recover_attempt(conn, row, by_instance.get(row.node_instance_id), found)
            self._leftover_nodes = [n for n in self._fleet if n.state is NodeState.DELETING and not n.queue]
            for row in scheduling.held_instances(conn):
                held = by_instance.get(row.node_instance_id or "")
                if held is not None:
                    self._fleet.hold(held, (row.task_pk, row.idx))
        return found

    def _recover_attempt(self, conn: Any, row: Any, node: Node | None, found: Recovered) -> None:
        runtime = self._runtimes.get(conn, row.task_pk)
        state = State.RUNNING if row.running_time is not None else State.STARTING
        active = ActiveAttempt(
            row.pk,
            row.task_pk,
            row.idx,
            row.number,
            state,
            runtime.spec.timeout,
            "",
            launched_at=row.launch_time,
        )
        if node is not None:
            active.node_id = node.node_id
            self._fleet.enqueue(node, row.pk, row.task_pk)
        self._ledger.add(active)
        if row.running_time is not None:
            self._ledger.start_clock(active, row.running_time)
        fault = runtime.fault if node is not None else LOST_WITHOUT_NODE
        if fault is not None:
            failure = Failure.UNRUNNABLE if runtime.fault is not None else Failure.SYSTEM
            self._events.append(AttemptFinished(row.pk, self._clock(), None, failure, fault))
            return
        if row.cancel_reason:
            active.cancel = Cancel(row.cancel_reason, retry=False)
            found.cancelled.append(row.pk)
        found.attempts.append(AttachedAttempt(row.handle, runtime.attempt(row.pk, row.idx, active.node_id)))


def _node(row: Any, activity_pk: int | None) -> Node:
    return Node(
        pk=row.pk,
        node_id=row.node_id,
        instance_id=row.instance_id,
        env_pk=row.env_pk,
        task_pk=row.task_pk,
        origin=Origin(row.origin),
        state=NodeState(row.state),
        instance_type=row.instance_type,
        resources=Resources(row.cpu, row.memory_gib, row.gpu),
        host=row.host,
        created_at=row.create_time,
        activity_pk=activity_pk,
    )


def _log_failure(what: str, exc: Exception) -> None:
    """An unavailable store is logged once per outage by the store; a traceback per retry would bury it."""
    if isinstance(exc, StoreUnavailable):
        log.debug("%s: %s", what, exc.cause)
    else:
        log.error(what, exc_info=exc)
