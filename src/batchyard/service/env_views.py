"""Building compute environment responses from store rows, and choosing which environments a list shows.

Lists filter in memory: an account holds at most ``quotas.compute_envs`` environments per region,
and tags live in the environment's row, so one read of the caller's environments serves every
filter (tags included) and the total.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from batchyard.domain.errors import ApiError
from batchyard.domain.nodes import METRIC, NodeState, Origin
from batchyard.domain.times import iso, iso_or_none
from batchyard.schema.common import Authentication, EnvData, InputMapping, MountDataDisk, Notification
from batchyard.schema.compute_envs import (
    Activity,
    ComputeEnvView,
    ComputeNode,
    ComputeNodeMetrics,
    DescribeComputeEnvResponse,
)
from batchyard.service import views

RESOURCE_TYPE: Final = "CVM"  # what every node here stands in for
RESOURCE_TYPES: Final = ("CVM", "CPM")
DELETING: Final = "DELETING"

EnvPredicate = Callable[[Any], bool]


@dataclass
class NodeCounts:
    """An environment's nodes by state, and how many of them were attached by their owner."""

    states: Counter[str] = field(default_factory=Counter)
    attached: int = 0

    def add(self, state: str, origin: str, n: int = 1) -> None:
        self.states[state] += n
        self.attached += n if origin == Origin.USER_ATTACHED else 0


def counts_by_env(tallies: Iterable[Any]) -> dict[int, NodeCounts]:
    """From ``store.envs.node_tallies`` rows."""
    counts: dict[int, NodeCounts] = {}
    for row in tallies:
        counts.setdefault(row.env_pk, NodeCounts()).add(row.state, row.origin, row.n)
    return counts


def counts_of(nodes: Iterable[Any]) -> NodeCounts:
    counts = NodeCounts()
    for node in nodes:
        counts.add(node.state, node.origin)
    return counts


def metrics(counts: NodeCounts) -> ComputeNodeMetrics:
    return ComputeNodeMetrics(**{name: counts.states.get(state.value, 0) for state, name in METRIC.items()})


def describe(env: Any, nodes: Sequence[Any]) -> DescribeComputeEnvResponse:
    counts = counts_of(nodes)
    return DescribeComputeEnvResponse(
        EnvId=env.env_id,
        EnvName=env.name,
        Placement=views.placement(env.zone),
        CreateTime=iso(env.create_time),
        ComputeNodeSet=[node_view(n) for n in nodes],
        ComputeNodeMetrics=metrics(counts),
        DesiredComputeNodeCount=env.desired,
        EnvType=env.env_type,
        ResourceType=RESOURCE_TYPE,
        NextAction=next_action(env),
        AttachedComputeNodeCount=counts.attached,
        Tags=views.tags(env),
    )


def env_view(env: Any, counts: NodeCounts) -> ComputeEnvView:
    return ComputeEnvView(
        EnvId=env.env_id,
        EnvName=env.name,
        Placement=views.placement(env.zone),
        CreateTime=iso(env.create_time),
        ComputeNodeMetrics=metrics(counts),
        EnvType=env.env_type,
        DesiredComputeNodeCount=env.desired,
        ResourceType=RESOURCE_TYPE,
        NextAction=next_action(env),
        AttachedComputeNodeCount=counts.attached,
        Tags=views.tags(env),
    )


def next_action(env: Any) -> str:
    return DELETING if env.deleting else ""


def node_view(node: Any) -> ComputeNode:
    """One attempt at a time per node: it can take an instance exactly when it is idle."""
    return ComputeNode(
        ComputeNodeId=node.node_id,
        ComputeNodeInstanceId=node.instance_id,
        ComputeNodeState=node.state,
        Cpu=node.cpu,
        Mem=node.memory_gib,
        ResourceCreatedTime=iso_or_none(node.ready_time),
        TaskInstanceNumAvailable=1 if node.state == NodeState.CREATED else 0,
        AgentVersion="",
        PrivateIpAddresses=[],
        PublicIpAddresses=[],
        ResourceType=RESOURCE_TYPE,
        ResourceOrigin=node.origin,
    )


def create_info_fields(env: Any) -> dict[str, Any]:
    """The members of ``ComputeEnvCreateInfo`` from the stored request (secrets already masked)."""
    info = env.create_info["ComputeEnv"]
    data = info.get("EnvData")
    return {
        "EnvId": env.env_id,
        "EnvName": info["EnvName"],
        "EnvDescription": info.get("EnvDescription", ""),
        "EnvType": env.env_type,
        "EnvData": None if data is None else EnvData.model_validate(data),
        "MountDataDisks": [MountDataDisk.model_validate(d) for d in info.get("MountDataDisks", [])],
        "InputMappings": [InputMapping.model_validate(m) for m in info.get("InputMappings", [])],
        "Authentications": [Authentication.model_validate(a) for a in info.get("Authentications", [])],
        "Notifications": [Notification.model_validate(n) for n in info.get("Notifications", [])],
        "DesiredComputeNodeCount": info["DesiredComputeNodeCount"],
        "Tags": views.tags(env),
    }


def activity(row: Any, env_id: str) -> Activity:
    return Activity(
        ActivityId=row.activity_id,
        ComputeNodeId=row.node_id,
        ComputeNodeActivityType=row.kind,
        EnvId=env_id,
        Cause=row.cause,
        ActivityState=row.state,
        StateReason=row.reason,
        StartTime=iso(row.start_time),
        EndTime=iso_or_none(row.end_time),
        InstanceId=row.instance_id,
    )


# List filters: each wire filter name builds a predicate on an environment row.


def _column_in(column: str) -> Callable[[Sequence[str]], EnvPredicate]:
    def build(values: Sequence[str]) -> EnvPredicate:
        wanted = frozenset(values)
        return lambda env: env._mapping[column] in wanted

    return build


def _resource_types(values: Sequence[str]) -> EnvPredicate:
    unknown = [v for v in values if v not in RESOURCE_TYPES]
    if unknown:
        raise ApiError(
            "InvalidParameterValue.ResourceType",
            f"`{unknown[0]}` is not a resource type; use {' or '.join(RESOURCE_TYPES)}.",
        )
    return lambda _env: RESOURCE_TYPE in values


def _tag_keys(values: Sequence[str]) -> EnvPredicate:
    return lambda env: any(t["Key"] in values for t in env.tags)


def _tag_values(values: Sequence[str]) -> EnvPredicate:
    return lambda env: any(t["Value"] in values for t in env.tags)


def tag(key: str, values: Sequence[str]) -> EnvPredicate:
    return lambda env: any(t["Key"] == key and t["Value"] in values for t in env.tags)


CREATE_INFO_FILTERS: Final[Mapping[str, Callable[[Sequence[str]], EnvPredicate]]] = {
    "zone": _column_in("zone"),
    "env-id": _column_in("env_id"),
    "env-name": _column_in("name"),
}
VIEW_FILTERS: Final[Mapping[str, Callable[[Sequence[str]], EnvPredicate]]] = {
    **CREATE_INFO_FILTERS,
    "resource-type": _resource_types,
    "tag-key": _tag_keys,
    "tag-value": _tag_values,
}
