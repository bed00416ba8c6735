"""Compute nodes: their states, where they come from, and the activities that record their changes.

A node is a reservation of one instance type on a host, running one attempt at a time. The
scheduler is the only writer of nodes; these tables say what each state means to everyone else.
"""

from __future__ import annotations

from enum import StrEnum


class NodeState(StrEnum):
    SUBMITTED = "SUBMITTED"  # wanted, waiting for a host with room
    CREATING = "CREATING"  # placed on a host; the executor is making it
    CREATED = "CREATED"  # ready and idle
    RUNNING = "RUNNING"  # running one attempt
    DELETING = "DELETING"  # being retired: ends with its current attempt, if any
    ABNORMAL = "ABNORMAL"  # its host lost it
    CREATION_FAILED = "CREATION_FAILED"  # no host can hold it


# ActionIfComputeNodeInactive: the only policy the documentation names, so the only one accepted: a
# lost node is retired and its environment makes another.
RECREATE = "RECREATE"


class Origin(StrEnum):
    BATCH_CREATED = "BATCH_CREATED"
    USER_ATTACHED = "USER_ATTACHED"


# ComputeNodeMetrics field per state (PENDING is never used by batchyard and is not counted by the API).
METRIC: dict[NodeState, str] = {
    NodeState.SUBMITTED: "SubmittedCount",
    NodeState.CREATING: "CreatingCount",
    NodeState.CREATION_FAILED: "CreationFailedCount",
    NodeState.CREATED: "CreatedCount",
    NodeState.RUNNING: "RunningCount",
    NodeState.DELETING: "DeletingCount",
    NodeState.ABNORMAL: "AbnormalCount",
}

# States in which a user may terminate a node (TerminateComputeNode), per the API's documentation.
TERMINABLE: frozenset[NodeState] = frozenset(
    {NodeState.CREATED, NodeState.CREATION_FAILED, NodeState.RUNNING, NodeState.ABNORMAL}
)
# Nodes that hold their share of a host.
HOLDING: frozenset[NodeState] = frozenset(
    {NodeState.CREATING, NodeState.CREATED, NodeState.RUNNING, NodeState.DELETING}
)


class ActivityType(StrEnum):
    CREATE = "CREATE_COMPUTE_NODE"
    TERMINATE = "TERMINATE_COMPUTE_NODE"
    ATTACH = "ATTACH_INSTANCE"
    DETACH = "DETACH_INSTANCE"


class ActivityState(StrEnum):
    SUBMITTED = "SUBMITTED"
    PROCESSING = "PROCESSING"
    SUCCEED = "SUCCEED"
    FAILED = "FAILED"


class EnvChange(StrEnum):
    """What the API asks of an environment's nodes; the scheduler carries these out in order."""

    RECONCILE = "RECONCILE"  # created, or its desired count changed: make or retire nodes
    TERMINATE_NODES = "TERMINATE_NODES"
    ATTACH = "ATTACH"
    DETACH = "DETACH"
    DELETE = "DELETE"
