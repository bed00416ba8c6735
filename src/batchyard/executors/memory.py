"""An executor that runs nothing: its nodes and attempts are records that the caller and tests move along.

It is a complete implementation of the ``Executor`` contract, the reference the contract suite
(``tests/executors``) holds every backend to, and the executor of the scheduler's unit tests. Like
Dramatiq's StubBroker it is deterministic, with controls for what real nodes do on their own: finish
an attempt (``finish``, or an ``auto_finish`` rule), lose a node (``fail_node``), write logs, use
CPU and memory (``use``).

Events go to the sink through ``loop.call_soon``, never inside the call that caused them, so a
scheduler handling one never re-enters itself. The state outlives ``stop``/``start`` of the same object,
as real nodes outlive a server: while stopped, controls still act but nobody hears of it, and ``reattach``
tells what happened meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from batchyard.domain.attempts import AttemptSpec, Failure
from batchyard.executors.base import (
    AttachedAttempt,
    AttachedNode,
    AttemptFinished,
    AttemptStarted,
    Event,
    EventSink,
    Host,
    LogRef,
    NodeFailed,
    NodeLost,
    NodeReady,
    NodeSpec,
    Usage,
)

# Decides how an attempt's command ends as soon as it starts: an exit code, or None to leave it running.
AutoFinish = Callable[[AttemptSpec], int | None]

STREAMS = ("stdout", "stderr")
CANCELLED = "The attempt was cancelled: its command was killed."
CANCELLED_BEFORE_START = "The attempt was cancelled before it started."
NODE_LOST = "The host lost the compute node."
NODE_GONE = "The compute node is gone: its host no longer has it."
ATTEMPT_LOST = "The compute node lost the attempt: it ended without recording an exit code."


class NodeBusy(RuntimeError):
    """``retire`` was asked to give back a node that runs an attempt: a bug in the caller."""


@dataclass
class _Node:
    spec: NodeSpec
    handle: str
    attempt_pk: int | None = None  # the attempt it runs, if busy
    waiting: deque[AttemptSpec] = field(default_factory=deque)  # assigned, to run after it in order


class MemoryExecutor:
    MOVES_DATA: ClassVar[bool] = False  # attempts here have no data to stage

    def __init__(
        self,
        hosts: Sequence[Host],
        auto_finish: AutoFinish | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._hosts = {host.name: host for host in hosts}
        self._auto_finish = auto_finish
        self._clock = clock
        self._nodes: dict[str, _Node] = {}
        self._running: dict[int, AttemptSpec] = {}
        self._launched: dict[int, AttemptSpec] = {}  # every attempt ever handed over: at most once each
        self._outcomes: dict[int, AttemptFinished] = {}  # what a node's journal would keep, per attempt
        self._logs: dict[tuple[int, str], bytearray] = {}
        self._usage: dict[int, tuple[float, float]] = {}  # attempt -> (CPU %, memory %) it uses now
        self._sink: EventSink | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._epoch = 0  # bumped by start and stop: events queued under an older one are not delivered

    # The Executor protocol.

    def hosts(self) -> Sequence[Host]:
        return tuple(self._hosts.values())

    async def start(self, sink: EventSink) -> None:
        self._loop = asyncio.get_running_loop()
        self._sink = sink
        self._epoch += 1

    async def stop(self) -> None:
        """Deliver the events already due, then stop listening; nodes and attempts stay as they are."""
        await asyncio.sleep(0)  # queued callbacks run before this coroutine resumes
        self._sink = None
        self._epoch += 1

    def provision(self, nodes: Sequence[NodeSpec]) -> None:
        """A node that its host can hold becomes ready; a node already here is reported ready again (the
        scheduler may ask again after a restart for a node it never heard was ready)."""
        for spec in nodes:
            known = self._nodes.get(spec.node_id)
            if known is not None:
                self._emit(NodeReady(spec.node_id, self._clock(), known.handle))
                continue
            refusal = self._placement_refusal(spec)
            if refusal is not None:
                self._emit(NodeFailed(spec.node_id, self._clock(), refusal))
                continue
            node = _Node(spec, handle=f"memory-node:{spec.node_id}")
            self._nodes[spec.node_id] = node
            self._emit(NodeReady(spec.node_id, self._clock(), node.handle))

    def retire(self, node_ids: Sequence[str]) -> None:
        """Forget these idle nodes; unknown ones are ignored.

        The scheduler never retires a busy node (it waits for the attempt's end), so one here is a bug:
        raises ``NodeBusy`` and retires none of the batch, so that the scheduler's tests fail loudly
        rather than lose an attempt without an event.
        """
        busy = [node_id for node_id in node_ids if self._busy(node_id)]
        if busy:
            raise NodeBusy(f"cannot retire nodes that run an attempt: {', '.join(busy)}")
        for node_id in node_ids:
            self._nodes.pop(node_id, None)

    def launch(self, attempts: Sequence[AttemptSpec]) -> None:
        """Start each attempt on its node, or after the node's earlier ones, unless this ``attempt_pk`` was
        handed over before. An unknown node refuses the attempt: it ends at once as a SYSTEM failure.
        """
        for spec in attempts:
            if spec.attempt_pk not in self._launched:
                self._launched[spec.attempt_pk] = spec
                node = self._nodes.get(spec.node_id)
                if node is not None and node.attempt_pk is not None:
                    node.waiting.append(spec)
                else:
                    self._start(spec)

    def cancel(self, attempt_pks: Sequence[int]) -> None:
        """A running attempt ends at once, as a USER failure with no exit code; one waiting for its node
        ends without starting; others are ignored."""
        targets = set(attempt_pks)
        for node in self._nodes.values():
            for spec in [s for s in node.waiting if s.attempt_pk in targets]:
                node.waiting.remove(spec)
                self._end(spec.attempt_pk, None, Failure.USER, CANCELLED_BEFORE_START)
        for pk in attempt_pks:
            if pk in self._running:
                self._end(pk, None, Failure.USER, CANCELLED)

    def reattach(self, nodes: Sequence[AttachedNode], attempts: Sequence[AttachedAttempt]) -> None:
        """Tell what the scheduler may have missed while stopped; call it after ``start``.

        Nodes and attempts are found by id (the handle only says whether the scheduler has seen them
        ready or started); those the scheduler does not name are left as they are.
        """
        for node in nodes:
            self._reattach_node(node)
        for attempt in attempts:
            self._reattach_attempt(attempt)

    def log_tail(self, ref: LogRef, stream: str, limit: int) -> bytes | None:
        """What was written to the stream, or None for an attempt whose command never started."""
        data = self._logs.get((ref.attempt_pk, stream))
        if data is None:
            return None
        return bytes(data[-limit:]) if limit > 0 else b""

    async def usage(self) -> Sequence[Usage]:
        """Every running attempt, with what ``use`` says it uses (nothing measured: zero), no disk."""
        now = self._clock()
        return [Usage(pk, now, *self._usage.get(pk, (0.0, 0.0)), None) for pk in self._running]

    def forget_job(self, job_id: str) -> None:
        """Drop the logs and recorded outcomes of the job's attempts (it only removes keys)."""
        for pk, spec in list(self._launched.items()):
            if spec.job_id == job_id:
                self._outcomes.pop(pk, None)
                for stream in STREAMS:
                    self._logs.pop((pk, stream), None)

    # Controls for tests: what real nodes and commands do on their own.

    def finish(
        self, attempt_pk: int, exit_code: int = 0, failure: Failure | None = None, reason: str | None = None
    ) -> None:
        """End a running attempt as its command would; ``failure`` and ``reason`` override the usual
        reading of the exit code (0 succeeds, anything else is the user's)."""
        if attempt_pk not in self._running:
            raise KeyError(f"attempt {attempt_pk} is not running")
        if failure is None:
            failure = Failure.NONE if exit_code == 0 else Failure.USER
        if reason is None:
            reason = "" if exit_code == 0 else f"The command exited with code {exit_code}."
        self._end(attempt_pk, exit_code, failure, reason)

    def fail_node(self, node_id: str, reason: str = NODE_LOST) -> None:
        """The node's host loses it: ``NodeLost``, then its attempt, if any, ends as a SYSTEM failure."""
        node = self._nodes.pop(node_id, None)
        if node is None:
            raise KeyError(f"there is no node {node_id}")
        self._emit(NodeLost(node_id, self._clock(), reason))
        if node.attempt_pk is not None:
            self._end(node.attempt_pk, None, Failure.SYSTEM, ATTEMPT_LOST)
        for spec in node.waiting:
            self._end(spec.attempt_pk, None, Failure.SYSTEM, ATTEMPT_LOST)

    def write_log(self, attempt_pk: int, stream: str, data: bytes) -> None:
        """Append to an attempt's ``stdout`` or ``stderr``, as its command would."""
        if stream not in STREAMS:
            raise ValueError(f"no stream {stream!r}; streams are {STREAMS}")
        self._logs.setdefault((attempt_pk, stream), bytearray()).extend(data)

    def use(self, attempt_pk: int, cpu_percent: float, memory_percent: float) -> None:
        """A running attempt's command now uses this much of its node (until it ends or uses other)."""
        if attempt_pk not in self._running:
            raise KeyError(f"attempt {attempt_pk} is not running")
        self._usage[attempt_pk] = (cpu_percent, memory_percent)

    def nodes(self) -> dict[str, NodeSpec]:
        """The nodes that are here now, ready, idle or busy."""
        return {node_id: node.spec for node_id, node in self._nodes.items()}

    def running(self) -> dict[int, AttemptSpec]:
        """The attempts running now, by ``attempt_pk``."""
        return dict(self._running)

    # Inside.

    def _placement_refusal(self, spec: NodeSpec) -> str | None:
        host = self._hosts.get(spec.host)
        if host is None:
            return f"There is no host {spec.host!r}."
        if not host.capacity.fits(spec.resources):
            return f"The node needs {spec.resources}; host {host.name} has {host.capacity}."
        return None

    def _busy(self, node_id: str) -> bool:
        node = self._nodes.get(node_id)
        return node is not None and (node.attempt_pk is not None or bool(node.waiting))

    def _start(self, spec: AttemptSpec) -> None:
        node = self._nodes.get(spec.node_id)
        if node is None:
            reason = f"The compute node {spec.node_id} is unknown here."
            self._end(spec.attempt_pk, None, Failure.SYSTEM, reason)
            return
        node.attempt_pk = spec.attempt_pk
        self._running[spec.attempt_pk] = spec
        for stream in STREAMS:
            self._logs.setdefault((spec.attempt_pk, stream), bytearray())
        self._emit(AttemptStarted(spec.attempt_pk, self._clock(), _attempt_handle(spec.attempt_pk)))
        exit_code = self._auto_finish(spec) if self._auto_finish is not None else None
        if exit_code is not None:
            self.finish(spec.attempt_pk, exit_code)

    def _end(self, attempt_pk: int, exit_code: int | None, failure: Failure, reason: str) -> None:
        spec = self._running.pop(attempt_pk, None)
        self._usage.pop(attempt_pk, None)
        node = self._nodes.get(spec.node_id) if spec is not None else None
        outcome = AttemptFinished(attempt_pk, self._clock(), exit_code, failure, reason)
        self._outcomes[attempt_pk] = outcome
        self._emit(outcome)
        if node is not None:
            node.attempt_pk = None
            if node.waiting:
                self._start(node.waiting.popleft())

    def _reattach_node(self, attached: AttachedNode) -> None:
        node_id = attached.spec.node_id
        node = self._nodes.get(node_id)
        if node is None:
            self._emit(NodeLost(node_id, self._clock(), NODE_GONE))
        elif attached.handle is None:  # it became ready after the scheduler stopped listening
            self._emit(NodeReady(node_id, self._clock(), node.handle))

    def _reattach_attempt(self, attached: AttachedAttempt) -> None:
        pk = attached.spec.attempt_pk
        if pk in self._running:
            if attached.handle is None:  # it started after the scheduler stopped listening
                self._emit(AttemptStarted(pk, self._clock(), _attempt_handle(pk)))
        elif pk in self._outcomes:
            self._emit(self._outcomes[pk])
        elif any(spec.attempt_pk == pk for node in self._nodes.values() for spec in node.waiting):
            return  # still waiting for its node: it keeps its turn
        elif pk not in self._launched:  # the launch never reached this executor
            self.launch([attached.spec])
        else:  # handed over, and nothing is known of its end (its job was forgotten)
            self._end(pk, None, Failure.SYSTEM, ATTEMPT_LOST)

    def _emit(self, event: Event) -> None:
        """Queue the event for the sink; while stopped nobody listens and ``reattach`` tells instead."""
        if self._sink is not None and self._loop is not None:
            self._loop.call_soon(self._deliver, self._epoch, self._sink, event)

    def _deliver(self, epoch: int, sink: EventSink, event: Event) -> None:
        if epoch == self._epoch:
            sink(event)


def _attempt_handle(attempt_pk: int) -> str:
    return f"memory-attempt:{attempt_pk}"
