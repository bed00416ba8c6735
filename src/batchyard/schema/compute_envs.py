"""Requests and responses of the compute environment actions: named environments and their nodes.

Members, their order, types and required flags follow tccli's ``api.json`` (see ``common``). As in
``jobs``, response members have no defaults, and mutators answer with ``jobs.OkResponse``.
"""

from __future__ import annotations

from batchyard.schema import common
from batchyard.schema.base import ApiModel, Int64, UInt64

# Requests


class NamedComputeEnv(ApiModel):
    EnvName: str
    DesiredComputeNodeCount: Int64
    EnvDescription: str | None = None
    EnvType: str | None = None
    EnvData: common.EnvData | None = None
    MountDataDisks: list[common.MountDataDisk] | None = None
    Authentications: list[common.Authentication] | None = None
    InputMappings: list[common.InputMapping] | None = None
    AgentRunningMode: common.AgentRunningMode | None = None
    Notifications: list[common.Notification] | None = None
    ActionIfComputeNodeInactive: str | None = None
    ResourceMaxRetryCount: Int64 | None = None
    Tags: list[common.Tag] | None = None
    NotificationTarget: str | None = None


class ComputeEnvData(ApiModel):
    InstanceTypes: list[str]


class Instance(ApiModel):
    """A machine to attach. Its ``LoginSettings`` are a secret and never stored."""

    InstanceId: str
    ImageId: str | None = None
    LoginSettings: common.LoginSettings | None = None


class CreateComputeEnvRequest(ApiModel):
    ComputeEnv: NamedComputeEnv
    Placement: common.Placement
    ClientToken: str | None = None


class DescribeComputeEnvRequest(ApiModel):
    EnvId: str


class DescribeComputeEnvsRequest(ApiModel):
    EnvIds: list[str] | None = None
    Filters: list[common.Filter] | None = None
    Offset: UInt64 | None = None
    Limit: UInt64 | None = None


class DescribeComputeEnvCreateInfoRequest(ApiModel):
    EnvId: str


class DescribeComputeEnvCreateInfosRequest(DescribeComputeEnvsRequest):
    """The same members; only the filters it knows differ (``service.env_views``)."""


class DescribeComputeEnvActivitiesRequest(ApiModel):
    """``Filters`` is one filter here, not a list (API_NOTES §1.5)."""

    EnvId: str
    Offset: Int64 | None = None
    Limit: Int64 | None = None
    Filters: common.Filter | None = None


class ModifyComputeEnvRequest(ApiModel):
    EnvId: str
    DesiredComputeNodeCount: Int64 | None = None
    EnvName: str | None = None
    EnvDescription: str | None = None
    EnvData: ComputeEnvData | None = None


class DeleteComputeEnvRequest(ApiModel):
    EnvId: str


class TerminateComputeNodeRequest(ApiModel):
    EnvId: str
    ComputeNodeId: str


class TerminateComputeNodesRequest(ApiModel):
    EnvId: str
    ComputeNodeIds: list[str]


class AttachInstancesRequest(ApiModel):
    EnvId: str
    Instances: list[Instance]


class DetachInstancesRequest(ApiModel):
    EnvId: str
    InstanceIds: list[str]


# Responses


class CreateComputeEnvResponse(ApiModel):
    EnvId: str


class ComputeNodeMetrics(ApiModel):
    """How many of an environment's nodes are in each state; every state is counted, zeros included."""

    SubmittedCount: UInt64
    CreatingCount: UInt64
    CreationFailedCount: UInt64
    CreatedCount: UInt64
    RunningCount: UInt64
    DeletingCount: UInt64
    AbnormalCount: UInt64


class ComputeNode(ApiModel):
    """A node; ``ResourceCreatedTime`` is null until it is ready, its addresses are those of no network."""

    ComputeNodeId: str
    ComputeNodeInstanceId: str
    ComputeNodeState: str
    Cpu: UInt64
    Mem: UInt64
    ResourceCreatedTime: str | None
    TaskInstanceNumAvailable: UInt64
    AgentVersion: str
    PrivateIpAddresses: list[str]
    PublicIpAddresses: list[str]
    ResourceType: str
    ResourceOrigin: str


class DescribeComputeEnvResponse(ApiModel):
    EnvId: str
    EnvName: str
    Placement: common.Placement
    CreateTime: str
    ComputeNodeSet: list[ComputeNode]
    ComputeNodeMetrics: ComputeNodeMetrics
    DesiredComputeNodeCount: UInt64
    EnvType: str
    ResourceType: str
    NextAction: str
    AttachedComputeNodeCount: UInt64
    Tags: list[common.Tag] | None


class ComputeEnvView(ApiModel):
    EnvId: str
    EnvName: str
    Placement: common.Placement
    CreateTime: str
    ComputeNodeMetrics: ComputeNodeMetrics
    EnvType: str
    DesiredComputeNodeCount: UInt64
    ResourceType: str
    NextAction: str
    AttachedComputeNodeCount: UInt64
    Tags: list[common.Tag] | None


class DescribeComputeEnvsResponse(ApiModel):
    ComputeEnvSet: list[ComputeEnvView]
    TotalCount: Int64


class ComputeEnvCreateInfo(ApiModel):
    """The environment as it was created (secrets masked), as listed by DescribeComputeEnvCreateInfos."""

    EnvId: str
    EnvName: str
    EnvDescription: str
    EnvType: str
    EnvData: common.EnvData | None
    MountDataDisks: list[common.MountDataDisk]
    InputMappings: list[common.InputMapping]
    Authentications: list[common.Authentication]
    Notifications: list[common.Notification]
    DesiredComputeNodeCount: UInt64
    Tags: list[common.Tag] | None


class DescribeComputeEnvCreateInfoResponse(ApiModel):
    """``ComputeEnvCreateInfo`` again, with a signed count as ``api.json`` types it here (members in
    the SDK's order, which the schema test holds them to)."""

    EnvId: str
    EnvName: str
    EnvDescription: str
    EnvType: str
    EnvData: common.EnvData | None
    MountDataDisks: list[common.MountDataDisk]
    InputMappings: list[common.InputMapping]
    Authentications: list[common.Authentication]
    Notifications: list[common.Notification]
    DesiredComputeNodeCount: Int64
    Tags: list[common.Tag] | None


class DescribeComputeEnvCreateInfosResponse(ApiModel):
    TotalCount: Int64
    ComputeEnvCreateInfoSet: list[ComputeEnvCreateInfo]


class Activity(ApiModel):
    """What happened to one node and why; ``EndTime`` is null while the activity is under way."""

    ActivityId: str
    ComputeNodeId: str
    ComputeNodeActivityType: str
    EnvId: str
    Cause: str
    ActivityState: str
    StateReason: str
    StartTime: str
    EndTime: str | None
    InstanceId: str


class DescribeComputeEnvActivitiesResponse(ApiModel):
    ActivitySet: list[Activity]
    TotalCount: UInt64
