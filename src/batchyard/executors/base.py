"""The boundary between the scheduler and whatever runs attempts (local processes, Slurm, Ray), in nodes.

A compute node is a reservation of one instance type on a host, running one attempt at a time.
The scheduler decides everything: which nodes exist, on which host, and which attempt runs on which
node and in which order; it commits each decision before it calls the executor, and learns the rest
from events. An executor never touches the store and never chooses: it runs the attempts assigned to
a node one after another, in the order they were launched, each once the one before has ended (a
node just provisioned runs its first once it is ready).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, NamedTuple, Protocol

from batchyard.domain.attempts import AttemptSpec, Failure
from batchyard.domain.attempts import LogRef as LogRef  # part of the interface
from batchyard.domain.attempts import Usage as Usage
from batchyard.domain.resources import Resources


@dataclass(frozen=True)
class Host:
    """Somewhere nodes can be placed, with all it offers (nodes on it share this)."""

    name: str
    capacity: Resources


@dataclass(frozen=True)
class NodeSpec:
    node_id: str
    host: str
    resources: Resources


@dataclass(frozen=True)
class Attached:
    """A node or attempt from before a restart, with the durable handle its executor gave it."""

    handle: str | None


@dataclass(frozen=True)
class AttachedNode(Attached):
    spec: NodeSpec


@dataclass(frozen=True)
class AttachedAttempt(Attached):
    spec: AttemptSpec


# Events are named tuples: executors make two per attempt, on the path that starts the next one.
class NodeReady(NamedTuple):
    node_id: str
    at: float
    handle: str


class NodeFailed(NamedTuple):
    """The node could not be made; it holds nothing."""

    node_id: str
    at: float
    reason: str


class NodeLost(NamedTuple):
    """A ready node is gone (its host failed or its allocation ended); its attempt, if any, is lost too
    and ends with its own ``AttemptFinished``."""

    node_id: str
    at: float
    reason: str


class AttemptStarted(NamedTuple):
    attempt_pk: int
    at: float
    handle: str


class AttemptFinished(NamedTuple):
    attempt_pk: int
    at: float
    exit_code: int | None
    failure: Failure
    reason: str


def describe_hosts(hosts: Sequence[Host]) -> str:
    """For the log: each host with what it offers."""
    return ", ".join(f"{h.name} ({h.capacity})" for h in hosts)


class HostsChanged(NamedTuple):
    """Where nodes can go changed (a cluster's nodes added, removed or resized): ``hosts`` from now on.
    Nodes already on a host that left are not lost for it; their executor says so if they are."""

    at: float
    hosts: tuple[Host, ...]


NodeEvent = NodeReady | NodeFailed | NodeLost
AttemptEvent = AttemptStarted | AttemptFinished
Event = NodeEvent | AttemptEvent | HostsChanged
EventSink = Callable[[Event], None]


class Executor(Protocol):
    # Whether this side stages each attempt's data, and while a node runs one attempt stages the data
    # of the next one queued on it (a cluster's runner stages on the node, when the attempt starts).
    MOVES_DATA: ClassVar[bool]

    def hosts(self) -> Sequence[Host]:
        """Where nodes can go now. The scheduler counts what its nodes take of each."""

    async def start(self, sink: EventSink) -> None:
        """Begin delivering events to ``sink`` (called on the event loop)."""

    def provision(self, nodes: Sequence[NodeSpec]) -> None:
        """Make these nodes on their hosts; each ends with ``NodeReady`` or ``NodeFailed``."""

    def retire(self, node_ids: Sequence[str]) -> None:
        """Give these idle nodes back; unknown ones are ignored. No event follows."""

    def launch(self, attempts: Sequence[AttemptSpec]) -> None:
        """Run each attempt on its node, after the attempts launched on that node before it. The scheduler
        never reuses an ``attempt_pk``; a repeat while the attempt is still known here is ignored. An
        attempt on a node that is not here (it failed to be made, or is gone) ends as a SYSTEM failure.

        Each ends with ``AttemptFinished``, after ``AttemptStarted`` if its command started.
        """

    def cancel(self, attempt_pks: Sequence[int]) -> None:
        """Kill these attempts (the whole process tree, politely then firmly); unknown ones are ignored.

        Each still ends with an ``AttemptFinished`` event.
        """

    def reattach(self, nodes: Sequence[AttachedNode], attempts: Sequence[AttachedAttempt]) -> None:
        """Take back the nodes and attempts of before a restart, as the store knows them.

        A node that is gone is reported lost; one the store never heard was ready (no handle: it was
        still being made) is reported ready if it is there. An attempt that ended meanwhile is reported with
        its outcome; one whose command never started is started (once); one that started and left
        no outcome ends as a SYSTEM failure.
        """

    def log_tail(self, ref: LogRef, stream: str, limit: int) -> bytes | None:
        """The last ``limit`` bytes of an attempt's ``stdout`` or ``stderr``, or None if there is none."""

    async def usage(self) -> Sequence[Usage]:
        """How the attempts running now use their nodes. The server asks once per sampling period, so
        it must cost one pass over what the hosts report (``/proc``, one ``sstat``), not one per attempt.
        """

    def forget_job(self, job_id: str) -> None:
        """The job is deleted: drop what is kept for its attempts (logs). Called off the event loop."""

    async def stop(self) -> None:
        """Stop watching. Nodes and running attempts stay and are re-attached on the next start."""
