"""What CreateComputeEnv, ModifyComputeEnv and the node actions accept, checked before any write.

Rules batchyard decided where the documentation is silent:
- An environment holds nodes of one instance type: ``EnvData.InstanceType``, or the single type of
  ``EnvData.InstanceTypes`` (the same one in both is fine). Several types are refused with
  ``InvalidParameterValue.InstanceType``, as the type must be in the server's catalog.
- ``EnvName`` must not be empty and holds at most 60 characters, ``EnvDescription`` 200.
- ``DesiredComputeNodeCount`` is at least 0; with the attached nodes it is bounded by the
  ``nodes_per_env`` quota (``InvalidParameterValue.LimitExceeded``).
- ``MountDataDisks``, ``Authentications`` and ``InputMappings`` change what a node does and are
  refused until implemented; ``Notifications`` must name topics the server delivers to. The CVM
  details of ``EnvData`` are checked where a format is known and otherwise have no effect, as for a
  task's anonymous environment.
- The create info kept for DescribeComputeEnvCreateInfo is the request as given, with the login
  password masked: it is never stored.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from re import Pattern
from typing import Any, Final

from batchyard.config.catalog import InstanceType
from batchyard.domain.errors import ApiError
from batchyard.domain.ids import NODE_ID
from batchyard.domain.nodes import TERMINABLE, NodeState, Origin
from batchyard.domain.notifications import ENV_EVENTS, Subscription
from batchyard.schema.common import EnvData, Filter
from batchyard.schema.compute_envs import ComputeEnvData, CreateComputeEnvRequest, NamedComputeEnv
from batchyard.service import limits, listing
from batchyard.service.env_validation import (
    catalog_type,
    check_cvm_fields,
    check_data_zones,
    check_env_type,
    refuse_not_yet,
    requested_types,
)
from batchyard.service.fields import check_choice, check_length, check_tags
from batchyard.service.notification_validation import check_notifications

WHERE: Final = "ComputeEnv"
NODE_FILTER: Final = "compute-node-id"  # DescribeComputeEnvActivities' one filter
NOT_YET: Final = ("MountDataDisks", "Authentications", "InputMappings")
MASK: Final = "********"


def check_named_env(
    spec: NamedComputeEnv,
    zones: Mapping[str, list[str]],
    region: str,
    instance_types: Mapping[str, InstanceType],
    topics: Collection[str],
) -> tuple[str, list[Subscription]]:
    """Every value rule of a ``NamedComputeEnv``, in member order; returns its instance type and what
    its notifications subscribe to (``topics``: those this server delivers to)."""
    check_texts(spec.EnvName, spec.EnvDescription, f"{WHERE}.")
    check_not_negative(spec.DesiredComputeNodeCount, f"{WHERE}.DesiredComputeNodeCount")
    check_env_type(spec.EnvType, WHERE)
    check_cvm_fields(spec.EnvData, WHERE)
    check_data_zones(zones, region, spec.EnvData, WHERE)
    kind = one_type(spec.EnvData, instance_types)
    refuse_not_yet(spec, NOT_YET, WHERE)
    wanted = check_notifications(spec.Notifications or [], topics, f"{WHERE}.Notifications", ENV_EVENTS)
    where = f"{WHERE}.ActionIfComputeNodeInactive"
    check_choice(spec.ActionIfComputeNodeInactive, limits.ACTIONS_IF_INACTIVE, where)
    _check_resource_retries(spec.ResourceMaxRetryCount)
    check_tags(spec.Tags or [], f"{WHERE}.Tags")
    check_choice(spec.NotificationTarget, limits.NOTIFICATION_TARGETS, f"{WHERE}.NotificationTarget")
    return kind, wanted


def check_texts(name: str | None, description: str | None, prefix: str) -> None:
    if name is not None and not name:
        raise ApiError("InvalidParameterValue", f"{prefix}EnvName must not be empty.")
    check_length(name, limits.ENV_NAME_MAX, "InvalidParameter.EnvNameTooLong", f"{prefix}EnvName")
    code = "InvalidParameter.EnvDescriptionTooLong"
    check_length(description, limits.ENV_DESCRIPTION_MAX, code, f"{prefix}EnvDescription")


def check_not_negative(value: int | None, where: str) -> None:
    if value is not None and value < 0:
        raise ApiError("InvalidParameterValue.Negative", f"The parameter `{where}` must not be negative.")


def check_capacity(desired: int, attached: int, quota: int) -> None:
    """The nodes an environment asks for and holds, within the per-environment quota."""
    if desired + attached > quota:
        held = f" plus its {attached} attached nodes" if attached else ""
        raise ApiError(
            "InvalidParameterValue.LimitExceeded",
            f"An environment holds at most {quota} nodes: "
            f"DesiredComputeNodeCount {desired}{held} is too many.",
        )


def one_type(data: EnvData | None, instance_types: Mapping[str, InstanceType]) -> str:
    names = requested_types(data, WHERE)
    if len(names) > 1:
        raise ApiError(
            "InvalidParameterValue.InstanceType",
            f"An environment holds nodes of one instance type; `{WHERE}.EnvData` names {', '.join(names)}.",
        )
    catalog_type(names[0], instance_types)
    return names[0]


def modified_type(data: ComputeEnvData | None, instance_types: Mapping[str, InstanceType]) -> str | None:
    """The one type ``ModifyComputeEnv.EnvData.InstanceTypes`` asks for, if it asks."""
    if data is None:
        return None
    if not data.InstanceTypes:
        raise ApiError("InvalidParameterValue.InstanceTypesEmpty", "EnvData.InstanceTypes must not be empty.")
    return one_type(EnvData(InstanceTypes=data.InstanceTypes), instance_types)


def check_ids(ids: Sequence[str], pattern: Pattern[str], where: str, malformed: str, duplicated: str) -> None:
    """A list of 1..100 well-formed ids, none twice."""
    if not 0 < len(ids) <= limits.IDS_PER_CALL_MAX:
        raise ApiError(
            "InvalidParameterValue.LimitExceeded", f"{where} takes 1..{limits.IDS_PER_CALL_MAX} ids."
        )
    seen: set[str] = set()
    for i, value in enumerate(ids):
        if not pattern.fullmatch(value):
            raise ApiError(malformed, f"`{where}.{i}` `{value}` is not a well-formed id.")
        if value in seen:
            raise ApiError(duplicated, f"`{where}` names `{value}` twice.")
        seen.add(value)


def check_image_ids(image_ids: Sequence[str | None], where: str) -> None:
    for i, image_id in enumerate(image_ids):
        if image_id and not limits.IMAGE_ID.fullmatch(image_id):
            raise ApiError("InvalidParameter.ImageIdMalformed", f"`{where}.{i}.ImageId` is malformed.")


def create_info(request: CreateComputeEnvRequest) -> dict[str, Any]:
    """The request as given, minus the one secret a ``NamedComputeEnv`` can carry."""
    info = {
        "ComputeEnv": request.ComputeEnv.model_dump(exclude_none=True),
        "Placement": request.Placement.model_dump(exclude_none=True),
    }
    login = info["ComputeEnv"].get("EnvData", {}).get("LoginSettings", {})
    if "Password" in login:
        login["Password"] = MASK
    return info


def capacity_cause(before: int, after: int) -> str:
    """An activity's cause, worded as the official examples word it."""
    direction = "increase" if after > before else "decrease"
    return f"ModifyComputeEnv: {direction} the capacity from {before} to {after}"


def check_terminable(node: Any, node_id: str, env_id: str, terminating: set[str]) -> None:
    """The documented states only; a node asked to go (``terminating``) or going is not asked twice,
    and a machine its owner attached leaves by DetachInstances, as it is not Batch's to destroy."""
    if node is None:
        raise ApiError("ResourceNotFound.ComputeNode", f"The environment `{env_id}` has no node `{node_id}`.")
    if node.state == NodeState.DELETING or node_id in terminating:
        raise ApiError(
            "UnsupportedOperation.ComputeNodeIsTerminating", f"`{node_id}` is already terminating."
        )
    if node.origin == Origin.USER_ATTACHED:
        raise ApiError(
            "UnsupportedOperation.ComputeNodeForbidTerminate",
            f"`{node_id}` was attached with AttachInstances; detach it with DetachInstances instead.",
        )
    if node.state not in TERMINABLE:
        allowed = ", ".join(sorted(TERMINABLE))
        raise ApiError(
            "UnsupportedOperation.ComputeNodeForbidTerminate",
            f"`{node_id}` is {node.state}; only a node that is {allowed} can be terminated.",
        )


def check_detachable(
    node: Any, instance_id: str, env_id: str, attaching: set[str], leaving: set[str]
) -> None:
    """Only machines their owner attached to this environment leave it, also while still being
    attached (``attaching``: the scheduler carries the two requests out in order)."""
    if node is None and instance_id not in attaching:
        raise ApiError(
            "ResourceNotFound.ComputeNode", f"The instance `{instance_id}` is not a node of `{env_id}`."
        )
    if instance_id in leaving or (node is not None and node.state == NodeState.DELETING):
        raise ApiError("UnsupportedOperation", f"The instance `{instance_id}` is already leaving `{env_id}`.")
    if node is not None and node.origin != Origin.USER_ATTACHED:
        raise ApiError(
            "UnsupportedOperation",
            f"The node of `{instance_id}` was created by Batch; terminate it with TerminateComputeNodes.",
        )


def node_filter(f: Filter | None) -> list[str] | None:
    """The one filter DescribeComputeEnvActivities takes: node ids, each well formed."""
    if f is None:
        return None
    return listing.conditions([f], {NODE_FILTER: _node_ids})[0]


def _node_ids(values: Sequence[str]) -> list[str]:
    for value in values:
        if not NODE_ID.fullmatch(value):
            raise ApiError("InvalidParameter.ComputeNodeIdMalformed", f"`{value}` is not a compute node id.")
    return list(values)


def _check_resource_retries(value: int | None) -> None:
    check_not_negative(value, f"{WHERE}.ResourceMaxRetryCount")
    if value is not None and value > limits.RESOURCE_MAX_RETRY_COUNT_MAX:
        raise ApiError(
            "InvalidParameterValue",
            f"`{WHERE}.ResourceMaxRetryCount` must be at most {limits.RESOURCE_MAX_RETRY_COUNT_MAX}.",
        )
