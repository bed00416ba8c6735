"""The scheduler's memory of compute nodes: what they take of each host, what is assigned to them.

Rebuilt from the store at start-up; between ticks it answers "which nodes of this environment can
take work" and "which host has room" without a query. Capacity is counted here and nowhere else.

A node runs one attempt at a time. The scheduler may assign it the next few attempts of a task
while it runs one, as many as it runs in about one round trip of the scheduler (the task's
``depth``): a node never idles waiting for the scheduler to notice it finished, and a better-ranked
instance that arrives waits at most about that round trip. A task whose attempts are longer than the
round trip, or not yet measured, gets a depth of one: one attempt per node, nothing queued.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from batchyard.domain.nodes import HOLDING, NodeState, Origin
from batchyard.domain.resources import NOTHING, Resources
from batchyard.executors.base import Host

Instance = tuple[int, int]  # (task_pk, idx)
Pool = tuple[str, int | None]  # ("env", env_pk) or ("task", task_pk) for an anonymous task's nodes

MAX_DEPTH = 64
# How fast estimates follow new observations (exponential moving averages).
_SMOOTHING = 0.2
_FIRST_ROUND_TRIP_S = 0.005
# A node holds as many of a task's attempts as it runs in this many round trips: an attempt shorter
# than two round trips waits at most that long behind another (STARTING), and one that lasts longer
# is assigned only to a free node, which then waits a round trip for it.
_HORIZON = 2
# A task that stages data (inputs, a package) keeps one attempt queued on a busy node while its attempts
# are shorter than this: the node stages the next one's data during the current one, and what waits
# behind it waits at most this long.
_STAGE_AHEAD_BELOW_S = 1.0


@dataclass
class Node:
    pk: int
    node_id: str
    instance_id: str
    env_pk: int | None  # None: anonymous, made for ``task_pk``
    task_pk: int | None
    origin: Origin
    state: NodeState
    instance_type: str
    resources: Resources
    host: str | None = None
    created_at: float = 0.0  # when it was asked for (ResourceCreatedTime in notifications)
    queue: list[int] = field(default_factory=list)  # attempts assigned, the running one first
    queue_task: int | None = None  # the task those attempts are of: a node queues one task's at a time
    held_by: Instance | None = None  # a FAILED_INTERRUPTED instance keeps its node
    activity_pk: int | None = None  # the activity that ends when this node is ready or gone

    @property
    def in_service(self) -> bool:
        """Ready for work: made, not being retired, not kept for an interrupted instance."""
        return self.state in (NodeState.CREATED, NodeState.RUNNING) and self.held_by is None

    @property
    def pool(self) -> Pool:
        """Which work may run on it: its environment's, or the task's it was made for."""
        return env_pool(self.env_pk, self.task_pk or 0)


@dataclass(frozen=True)
class Census:
    """A pool's nodes as an instance waiting for one sees them."""

    ready: int  # made: idle or busy
    busy: int  # ready, but running or queueing attempts, or kept for an interrupted instance
    making: int  # waiting for room on a host, or being made
    failed: int  # could not be made


_READY = (NodeState.CREATED, NodeState.RUNNING)
_MAKING = (NodeState.SUBMITTED, NodeState.CREATING)


def env_pool(env_pk: int | None, task_pk: int) -> Pool:
    """The pool a task's instances run in: its named environment's, or its own anonymous nodes."""
    return ("env", env_pk) if env_pk is not None else ("task", task_pk)


class Fleet:
    def __init__(self, hosts: Sequence[Host], stages_ahead: bool = False) -> None:
        """``stages_ahead``: a node stages the data of an attempt queued on it while it runs another."""
        self._stages_ahead = stages_ahead
        self._capacity = {host.name: host.capacity for host in hosts}
        self._used: dict[str, Resources] = defaultdict(lambda: NOTHING)
        self._nodes: dict[str, Node] = {}
        self._members: dict[Pool, dict[str, Node]] = defaultdict(dict)
        self._changed: set[Pool] = set()  # pools whose nodes changed since last asked (waiting reasons)
        # Nodes in service with room in their queue for some task of their pool, by pool (dicts as
        # insertion-ordered sets): the deepest task of a pool sets its room.
        self._open: dict[Pool, dict[str, Node]] = {}
        self._run_time: dict[int, float] = {}  # typical attempt duration, by task
        self._depth: dict[int, int] = {}  # by task; 1 when absent
        self._deep_tasks: dict[Pool, set[int]] = defaultdict(set)  # tasks of a pool deeper than 1
        self._noted: set[int] = set()
        self._waiting: dict[str, Node] = {}  # SUBMITTED nodes, oldest first
        self._room_changed = True  # since waiting nodes were last tried: room freed or nodes came
        self.round_trip_s = _FIRST_ROUND_TRIP_S  # from an attempt's end reaching us to the next launches
        # Set at recovery: the scheduler numbers the nodes and activities it makes.
        self.last_node_pk = 0
        self.last_activity_pk = 0

    def __iter__(self) -> Iterator[Node]:
        return iter(self._nodes.values())

    def __len__(self) -> int:
        return len(self._nodes)

    def get(self, node_id: str) -> Node | None:
        return self._nodes.get(node_id)

    def of_env(self, env_pk: int) -> list[Node]:
        return list(self._members.get(("env", env_pk), {}).values())

    def census(self, pool: Pool) -> Census:
        """How many of the pool's nodes are ready, busy, being made or failed, for a waiting reason."""
        members = self._members.get(pool, {}).values()
        ready = [n for n in members if n.state in _READY]
        return Census(
            ready=len(ready),
            busy=sum(1 for n in ready if n.queue or n.held_by is not None),
            making=sum(1 for n in members if n.state in _MAKING),
            failed=sum(1 for n in members if n.state is NodeState.CREATION_FAILED),
        )

    def take_changed_envs(self) -> set[int]:
        """Named environments whose nodes changed since the last call: their waiting reasons may have."""
        changed = {key for kind, key in self._changed if kind == "env" and key is not None}
        self._changed.clear()
        return changed

    def held(self, instance: Instance) -> Node | None:
        for node in self._nodes.values():
            if node.held_by == instance:
                return node
        return None

    def new_pk(self) -> int:
        self.last_node_pk += 1
        return self.last_node_pk

    def new_activity_pk(self) -> int:
        self.last_activity_pk += 1
        return self.last_activity_pk

    # Hosts ---------------------------------------------------------------------------------

    def set_hosts(self, hosts: Sequence[Host]) -> None:
        """Nodes on a host that left keep counting against it until they go: they still hold it."""
        self._capacity = {host.name: host.capacity for host in hosts}
        self._room_changed = True

    def fits_any(self, demand: Resources) -> bool:
        """Whether some host could ever hold a node of this size, were it empty."""
        return any(capacity.fits(demand) for capacity in self._capacity.values())

    def most_free(self) -> Resources:
        """The most room one host has now (most CPU, then memory, then GPU), for a waiting reason."""
        free = [capacity - self._used[name] for name, capacity in self._capacity.items()]
        return max(free, key=_size, default=NOTHING)

    def largest_host(self) -> Resources:
        return max(self._capacity.values(), key=_size, default=NOTHING)

    def place(self, demand: Resources) -> str | None:
        """The first host with room for the node now, or None."""
        for name, capacity in self._capacity.items():
            if (capacity - self._used[name]).fits(demand):
                return name
        return None

    # Membership and state ----------------------------------------------------------------------

    def add(self, node: Node) -> None:
        self._nodes[node.node_id] = node
        self._members[node.pool][node.node_id] = node
        if node.host is not None and node.state in HOLDING:
            self._used[node.host] += node.resources
        self._index(node)

    def remove(self, node: Node) -> None:
        del self._nodes[node.node_id]
        self._leave_pool(node)
        self._close(node)
        self._waiting.pop(node.node_id, None)
        if node.host is not None and node.state in HOLDING:
            self._used[node.host] -= node.resources
            self._room_changed = True

    def set_state(self, node: Node, state: NodeState) -> None:
        held_before = node.host is not None and node.state in HOLDING
        node.state = state
        held_after = node.host is not None and state in HOLDING
        if node.host is not None and held_before != held_after:
            self._used[node.host] += node.resources if held_after else NOTHING - node.resources
            self._room_changed = self._room_changed or held_before
        self._index(node)

    def waiting_to_place(self) -> list[Node]:
        """Nodes waiting for room, oldest first, if room was freed or nodes came since last asked."""
        if not self._room_changed:
            return []
        self._room_changed = False
        return list(self._waiting.values())

    def place_on(self, node: Node, host: str) -> None:
        node.host = host
        self.set_state(node, NodeState.CREATING)

    def enqueue(self, node: Node, attempt_pk: int, task_pk: int) -> None:
        node.queue.append(attempt_pk)
        node.queue_task = task_pk
        self._index(node)

    def dequeue(self, node: Node, attempt_pk: int) -> None:
        if attempt_pk in node.queue:
            node.queue.remove(attempt_pk)
        if not node.queue:
            node.queue_task = None
        self._index(node)

    def hold(self, node: Node, instance: Instance | None) -> None:
        node.held_by = instance
        self._index(node)

    # Work ----------------------------------------------------------------------------------------

    def open_pools(self) -> list[Pool]:
        return list(self._open)

    def has_open(self, pool: Pool) -> bool:
        """Whether some node of the pool can take another attempt now."""
        return pool in self._open

    def places(self, pool: Pool, task_pk: int) -> list[Node]:
        """One entry per attempt of the task the pool can take now: each open node as often as its
        queue has room at the task's depth, the least loaded nodes first. A busy node queues only
        attempts of the task it runs: one of another task could wait behind an attempt of any length."""
        nodes = [n for n in self._open.get(pool, {}).values() if not n.queue or n.queue_task == task_pk]
        depth = self._depth.get(task_pk, 1)
        return [n for level in range(depth) for n in nodes if len(n.queue) <= level]

    def idle(self, pool: Pool) -> list[Node]:
        return [n for n in self._open.get(pool, {}).values() if not n.queue]

    def observe(self, pool: Pool, task_pk: int, seconds: float, stages: bool = False) -> None:
        """An attempt of the task ran this long on a node of the pool: the task's depth follows.
        ``stages``: its attempts stage data before they start, which a queued one does ahead."""
        earlier = self._run_time.get(task_pk)
        typical = seconds if earlier is None else earlier + _SMOOTHING * (seconds - earlier)
        self._run_time[task_pk] = typical
        depth = min(MAX_DEPTH, 1 + math.floor(_HORIZON * self.round_trip_s / max(typical, 1e-4)))
        if stages and self._stages_ahead and typical < _STAGE_AHEAD_BELOW_S:
            depth = max(depth, 2)
        if depth == self._depth.get(task_pk, 1):
            return
        if depth > 1:
            self._depth[task_pk] = depth
            self._deep_tasks[pool].add(task_pk)
        else:
            self._depth.pop(task_pk, None)
            self._deep_tasks[pool].discard(task_pk)
        self._reindex(pool)

    def observe_round_trip(self, seconds: float) -> None:
        self.round_trip_s += _SMOOTHING * (seconds - self.round_trip_s)

    def forget_task(self, pool: Pool, task_pk: int) -> None:
        """The task ended: what was learnt of its attempts is of no further use."""
        self._run_time.pop(task_pk, None)
        if self._depth.pop(task_pk, None) is not None:
            self._deep_tasks[pool].discard(task_pk)
            if not self._deep_tasks[pool]:
                del self._deep_tasks[pool]
            self._reindex(pool)

    def _room(self, pool: Pool) -> int:
        deep = self._deep_tasks.get(pool)
        return max((self._depth[t] for t in deep), default=1) if deep else 1

    def _reindex(self, pool: Pool) -> None:
        for node in list(self._members.get(pool, {}).values()):
            self._index(node)

    def note_waiting(self, task_pk: int) -> bool:
        """True the first time a task is found waiting for a node no host can hold (said once)."""
        if task_pk in self._noted:
            return False
        self._noted.add(task_pk)
        return True

    def _leave_pool(self, node: Node) -> None:
        """Pools of anonymous nodes come and go with their tasks: an empty one is not kept."""
        members = self._members[node.pool]
        members.pop(node.node_id, None)
        if not members:
            del self._members[node.pool]
        self._changed.add(node.pool)

    def _index(self, node: Node) -> None:
        self._changed.add(node.pool)
        if node.state is NodeState.SUBMITTED:
            if node.node_id not in self._waiting:
                self._waiting[node.node_id] = node
                self._room_changed = True
        else:
            self._waiting.pop(node.node_id, None)
        if node.in_service and len(node.queue) < self._room(node.pool):
            self._open.setdefault(node.pool, {})[node.node_id] = node
        else:
            self._close(node)

    def _close(self, node: Node) -> None:
        """Pools of anonymous nodes come and go with their tasks: an empty one is not kept."""
        pool = self._open.get(node.pool)
        if pool is not None:
            pool.pop(node.node_id, None)
            if not pool:
                del self._open[node.pool]


def _size(room: Resources) -> tuple[int, int, int]:
    return room.cpu, room.memory_gib, room.gpu
