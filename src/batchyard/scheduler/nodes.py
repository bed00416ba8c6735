"""Compute nodes through their lives, within one tick: made, placed on a host, ready, busy, retired.

Each step changes the fleet (memory) and the tick's ``NodeBook`` (the rows) together, and names
what the executor must do after the commit (``tick.provisions``, ``tick.retirements``). Nodes of
named environments record what happens to them as activities; anonymous nodes have no one to tell.
Entering CREATED (once, when made), RUNNING (from idle), CREATION_FAILED, ABNORMAL or DELETING is
reported to the tick's notices, for the subscriptions of the node's environment or job.
"""

from __future__ import annotations

from typing import Any

from batchyard.domain.ids import new_id
from batchyard.domain.nodes import ActivityState, ActivityType, NodeState, Origin
from batchyard.domain.resources import NOTHING, Resources
from batchyard.executors.base import NodeSpec
from batchyard.scheduler.fleet import Instance, Node
from batchyard.scheduler.tick import Tick

# Which nodes go first when an environment shrinks: those doing nothing for anyone, busy ones last.
_RETIRE_ORDER = {
    NodeState.SUBMITTED: 0,
    NodeState.CREATION_FAILED: 1,
    NodeState.ABNORMAL: 2,
    NodeState.CREATED: 3,
    NodeState.CREATING: 4,
    NodeState.RUNNING: 5,
}


def make(
    tick: Tick,
    *,
    env_pk: int | None,
    task_pk: int | None,
    instance_type: str,
    resources: Resources,
    origin: Origin = Origin.BATCH_CREATED,
    instance_id: str | None = None,
) -> Node:
    """A new node, waiting for a host (SUBMITTED) until ``place`` or ``provision``."""
    node = Node(
        pk=tick.fleet.new_pk(),
        node_id=new_id("node"),
        instance_id=instance_id or new_id("ins"),
        env_pk=env_pk,
        task_pk=task_pk,
        origin=origin,
        state=NodeState.SUBMITTED,
        instance_type=instance_type,
        resources=resources,
        created_at=tick.now,
    )
    tick.fleet.add(node)
    tick.book.insert(
        node.pk,
        {
            "pk": node.pk,
            "node_id": node.node_id,
            "instance_id": node.instance_id,
            "env_pk": env_pk,
            "task_pk": task_pk,
            "origin": origin.value,
            "state": node.state.value,
            "instance_type": instance_type,
            "cpu": resources.cpu,
            "memory_gib": resources.memory_gib,
            "gpu": resources.gpu,
            "host": None,
            "handle": None,
            "reason": "",
            "create_time": tick.now,
            "ready_time": None,
        },
    )
    return node


def make_in_env(
    tick: Tick,
    env: Any,
    resources: Resources | None,
    kind: ActivityType,
    cause: str,
    origin: Origin = Origin.BATCH_CREATED,
    instance_id: str | None = None,
) -> Node:
    """A node of a named environment, with the activity that says why; ``resources`` None: the
    environment's instance type is no longer in the catalog, so the node cannot be made."""
    node = make(
        tick,
        env_pk=env.pk,
        task_pk=None,
        instance_type=env.instance_type,
        resources=resources or NOTHING,
        origin=origin,
        instance_id=instance_id,
    )
    begin_activity(tick, node, kind, cause, ActivityState.SUBMITTED)
    if resources is None:
        creation_failed(tick, node, f"The instance type {env.instance_type} is not offered here.")
    return node


def begin_activity(
    tick: Tick, node: Node, kind: ActivityType, cause: str, state: ActivityState = ActivityState.PROCESSING
) -> None:
    """Record what is about to happen to a node of a named environment, and why."""
    if node.env_pk is None:
        return
    if node.activity_pk is not None:  # a newer change supersedes the one under way
        end_activity(tick, node, ActivityState.FAILED, f"Superseded: {cause}")
    pk = tick.fleet.new_activity_pk()
    node.activity_pk = pk
    tick.book.activity(
        pk,
        {
            "pk": pk,
            "activity_id": new_id("act"),
            "env_pk": node.env_pk,
            "node_id": node.node_id,
            "instance_id": node.instance_id,
            "kind": kind.value,
            "cause": cause,
            "state": state.value,
            "reason": "",
            "start_time": tick.now,
            "end_time": None,
        },
    )


def end_activity(tick: Tick, node: Node, state: ActivityState, reason: str = "") -> None:
    if node.activity_pk is not None:
        tick.book.set_activity(node.activity_pk, state=state.value, reason=reason, end_time=tick.now)
        node.activity_pk = None


def place_waiting(tick: Tick) -> None:
    """Waiting nodes go on the first host with room, oldest first; one that no host could ever hold
    fails now instead of waiting for ever. Tried only when room was freed or nodes came."""
    no_room: set[Resources] = set()  # sizes that found no room in this pass: the rest of them will not
    for node in tick.fleet.waiting_to_place():
        if node.resources in no_room:
            continue
        if not tick.fleet.fits_any(node.resources):
            creation_failed(tick, node, no_host_reason(node.instance_type, node.resources))
            continue
        host = tick.fleet.place(node.resources)
        if host is None:
            no_room.add(node.resources)
        else:
            provision(tick, node, host)


def no_host_reason(instance_type: str, resources: Resources) -> str:
    return f"No host can hold a node of instance type {instance_type} ({resources})."


def provision(tick: Tick, node: Node, host: str) -> None:
    tick.fleet.place_on(node, host)
    tick.book.set(node, state=NodeState.CREATING.value, host=host)
    if node.activity_pk is not None:
        tick.book.set_activity(node.activity_pk, state=ActivityState.PROCESSING.value)
    tick.provisions.append(NodeSpec(node.node_id, host, node.resources))


def ready(tick: Tick, node: Node, handle: str) -> None:
    if node.state is NodeState.DELETING:  # retired while it was being made
        tick.book.set(node, handle=handle)
        gone(tick, node)
        return
    if node.state is not NodeState.CREATING:
        return
    state = NodeState.RUNNING if node.queue else NodeState.CREATED  # its first attempt may be waiting
    tick.fleet.set_state(node, state)
    tick.book.set(node, state=state.value, handle=handle, ready_time=tick.now)
    end_activity(tick, node, ActivityState.SUCCEED)
    tick.notices.node(node, NodeState.CREATED)
    if state is NodeState.RUNNING:
        tick.notices.node(node, state)


def creation_failed(tick: Tick, node: Node, reason: str) -> None:
    """Anonymous nodes that cannot be made are forgotten; the instances waiting for them decide by
    their job's StateIfCreateCvmFailed (see ``dispatch``). A named environment's stays, visible."""
    tick.fleet.set_state(node, NodeState.CREATION_FAILED)
    tick.book.set(node, state=NodeState.CREATION_FAILED.value, reason=reason)
    end_activity(tick, node, ActivityState.FAILED, reason)
    tick.notices.node(node, NodeState.CREATION_FAILED)
    if node.env_pk is None:
        gone(tick, node)


def lost(tick: Tick, node: Node, reason: str) -> None:
    """Its attempt ends by its own event. The node is retired (ABNORMAL until its attempts have
    ended) and, in a named environment, another is made now (``RECREATE``, the one policy)."""
    tick.fleet.set_state(node, NodeState.ABNORMAL)
    tick.book.set(node, state=NodeState.ABNORMAL.value, reason=reason)
    tick.notices.node(node, NodeState.ABNORMAL)
    if node.env_pk is None:
        retire(tick, node)
    else:
        retire(tick, node, ActivityType.TERMINATE, f"The compute node was lost: {reason}")
        tick.envs.add(node.env_pk)


def assign(tick: Tick, node: Node, attempt_pk: int, task_pk: int) -> None:
    tick.fleet.enqueue(node, attempt_pk, task_pk)
    if node.state is NodeState.CREATED:
        tick.fleet.set_state(node, NodeState.RUNNING)
        tick.book.set(node, state=NodeState.RUNNING.value)
        tick.notices.node(node, NodeState.RUNNING)


def freed(tick: Tick, node: Node, attempt_pk: int, held_by: Instance | None = None) -> None:
    """An attempt on it ended. With nothing left to run, the node is idle again, kept for a
    FAILED_INTERRUPTED instance, or gone if it was being retired."""
    tick.fleet.dequeue(node, attempt_pk)
    if held_by is not None:
        tick.fleet.hold(node, held_by)
    if node.queue or node.held_by is not None:
        return
    if node.state is NodeState.DELETING:
        gone(tick, node)
    elif node.state is NodeState.RUNNING:
        tick.fleet.set_state(node, NodeState.CREATED)
        tick.book.set(node, state=NodeState.CREATED.value)


def release(tick: Tick, instance: Instance) -> None:
    """A FAILED_INTERRUPTED instance was terminated or retried: its node goes back to service."""
    node = tick.fleet.held(instance)
    if node is None:
        return
    tick.fleet.hold(node, None)
    if node.env_pk is None:
        retire(tick, node)
    elif node.queue:  # attempts sent elsewhere have not ended yet: the last one's end frees it
        return
    elif node.state is NodeState.DELETING:
        gone(tick, node)
    elif node.state is NodeState.RUNNING:
        tick.fleet.set_state(node, NodeState.CREATED)
        tick.book.set(node, state=NodeState.CREATED.value)


def retire(tick: Tick, node: Node, kind: ActivityType | None = None, cause: str = "") -> None:
    """Take a node out of service: at once if idle, after the attempts assigned to it if busy."""
    if kind is not None:
        begin_activity(tick, node, kind, cause)
    if node.state not in (NodeState.DELETING, NodeState.SUBMITTED):  # a node never made is not deleted
        tick.notices.node(node, NodeState.DELETING)
    if node.held_by is not None:
        tick.fleet.hold(node, None)
    if node.queue:
        tick.fleet.set_state(node, NodeState.DELETING)
        tick.book.set(node, state=NodeState.DELETING.value)
        return
    if node.state is NodeState.CREATING:  # the executor is making it: retire it once it is ready
        tick.fleet.set_state(node, NodeState.DELETING)
        tick.book.set(node, state=NodeState.DELETING.value)
        return
    gone(tick, node)


def gone(tick: Tick, node: Node) -> None:
    if node.host is not None and node.state is not NodeState.CREATION_FAILED:
        tick.retirements.append(node.node_id)
    end_activity(tick, node, ActivityState.SUCCEED)
    tick.fleet.remove(node)
    tick.book.delete(node)


def reconcile(tick: Tick, env: Any, resources: Resources | None, cause: str) -> None:
    """Make or retire the environment's own nodes until it has as many as it wants.

    Nodes being retired (lost ones it recreates among them) do not count; nodes that could not be
    made do (they stay until a user terminates them, rather than being made again and again).
    Attached nodes are the user's and are never counted or retired here, except when the
    environment goes.
    """
    wants = 0 if env.deleting else env.desired
    own = [
        n
        for n in tick.fleet.of_env(env.pk)
        if n.state is not NodeState.DELETING and (n.origin is Origin.BATCH_CREATED or env.deleting)
    ]
    for _ in range(wants - len(own)):
        make_in_env(tick, env, resources, ActivityType.CREATE, cause)
    by_order = sorted(own, key=lambda n: (_RETIRE_ORDER.get(n.state, len(_RETIRE_ORDER)), -n.pk))
    for node in by_order[: max(0, len(own) - wants)]:
        kind = ActivityType.DETACH if node.origin is Origin.USER_ATTACHED else ActivityType.TERMINATE
        retire(tick, node, kind, cause)
