"""Compute environment actions: each handler only moves a parsed request into a use case and back."""

from __future__ import annotations

from batchyard.api.actions.registry import Action, Services
from batchyard.schema.compute_envs import (
    AttachInstancesRequest,
    CreateComputeEnvRequest,
    CreateComputeEnvResponse,
    DeleteComputeEnvRequest,
    DescribeComputeEnvActivitiesRequest,
    DescribeComputeEnvActivitiesResponse,
    DescribeComputeEnvCreateInfoRequest,
    DescribeComputeEnvCreateInfoResponse,
    DescribeComputeEnvCreateInfosRequest,
    DescribeComputeEnvCreateInfosResponse,
    DescribeComputeEnvRequest,
    DescribeComputeEnvResponse,
    DescribeComputeEnvsRequest,
    DescribeComputeEnvsResponse,
    DetachInstancesRequest,
    ModifyComputeEnvRequest,
    TerminateComputeNodeRequest,
    TerminateComputeNodesRequest,
)
from batchyard.schema.jobs import OkResponse
from batchyard.service.context import Caller


def create_compute_env(s: Services, caller: Caller, r: CreateComputeEnvRequest) -> CreateComputeEnvResponse:
    return CreateComputeEnvResponse(EnvId=s.envs.create(caller, r))


def describe_compute_env(
    s: Services, caller: Caller, r: DescribeComputeEnvRequest
) -> DescribeComputeEnvResponse:
    return s.envs.describe(caller, r.EnvId)


def describe_compute_envs(
    s: Services, caller: Caller, r: DescribeComputeEnvsRequest
) -> DescribeComputeEnvsResponse:
    return s.envs.describe_many(caller, r)


def describe_compute_env_create_info(
    s: Services, caller: Caller, r: DescribeComputeEnvCreateInfoRequest
) -> DescribeComputeEnvCreateInfoResponse:
    return s.envs.create_info(caller, r.EnvId)


def describe_compute_env_create_infos(
    s: Services, caller: Caller, r: DescribeComputeEnvCreateInfosRequest
) -> DescribeComputeEnvCreateInfosResponse:
    return s.envs.create_infos(caller, r)


def describe_compute_env_activities(
    s: Services, caller: Caller, r: DescribeComputeEnvActivitiesRequest
) -> DescribeComputeEnvActivitiesResponse:
    return s.envs.activities(caller, r)


def modify_compute_env(s: Services, caller: Caller, r: ModifyComputeEnvRequest) -> OkResponse:
    s.envs.modify(caller, r)
    return OkResponse()


def delete_compute_env(s: Services, caller: Caller, r: DeleteComputeEnvRequest) -> OkResponse:
    s.envs.delete(caller, r.EnvId)
    return OkResponse()


def terminate_compute_node(s: Services, caller: Caller, r: TerminateComputeNodeRequest) -> OkResponse:
    s.envs.terminate_nodes(caller, r.EnvId, [r.ComputeNodeId], "TerminateComputeNode")
    return OkResponse()


def terminate_compute_nodes(s: Services, caller: Caller, r: TerminateComputeNodesRequest) -> OkResponse:
    s.envs.terminate_nodes(caller, r.EnvId, r.ComputeNodeIds, "TerminateComputeNodes")
    return OkResponse()


def attach_instances(s: Services, caller: Caller, r: AttachInstancesRequest) -> OkResponse:
    s.envs.attach(caller, r.EnvId, r.Instances)
    return OkResponse()


def detach_instances(s: Services, caller: Caller, r: DetachInstancesRequest) -> OkResponse:
    s.envs.detach(caller, r.EnvId, r.InstanceIds)
    return OkResponse()


ACTIONS: dict[str, Action] = {
    "CreateComputeEnv": Action(CreateComputeEnvRequest, create_compute_env),
    "DescribeComputeEnv": Action(DescribeComputeEnvRequest, describe_compute_env),
    "DescribeComputeEnvs": Action(DescribeComputeEnvsRequest, describe_compute_envs),
    "DescribeComputeEnvCreateInfo": Action(
        DescribeComputeEnvCreateInfoRequest, describe_compute_env_create_info
    ),
    "DescribeComputeEnvCreateInfos": Action(
        DescribeComputeEnvCreateInfosRequest, describe_compute_env_create_infos
    ),
    "DescribeComputeEnvActivities": Action(
        DescribeComputeEnvActivitiesRequest, describe_compute_env_activities
    ),
    "ModifyComputeEnv": Action(ModifyComputeEnvRequest, modify_compute_env),
    "DeleteComputeEnv": Action(DeleteComputeEnvRequest, delete_compute_env),
    "TerminateComputeNode": Action(TerminateComputeNodeRequest, terminate_compute_node),
    "TerminateComputeNodes": Action(TerminateComputeNodesRequest, terminate_compute_nodes),
    "AttachInstances": Action(AttachInstancesRequest, attach_instances),
    "DetachInstances": Action(DetachInstancesRequest, detach_instances),
}
