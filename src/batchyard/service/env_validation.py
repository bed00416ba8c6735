"""What a compute environment declaration must satisfy, anonymous (a task's ``ComputeEnv``) or named
(CreateComputeEnv, ModifyComputeEnv): its type, instance types, CVM details, zones and placement.

``where`` is always the path of the environment in the request (``Job.Tasks.1.ComputeEnv`` or
``ComputeEnv``), so a message names the member as the caller spelt it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from batchyard.config.catalog import InstanceType
from batchyard.domain.errors import ApiError
from batchyard.schema.base import ApiModel
from batchyard.schema.common import EnvData, Placement
from batchyard.service import limits

# Environment types and why one is refused; None is accepted (MANAGED is the default).
_ENV_TYPE_REFUSALS: Final[Mapping[str, str | None]] = {
    "MANAGED": None,
    "THPC_QUEUE": "is THPC_QUEUE, a queue of Tencent's THPC platform, which this server does not have; "
    "use MANAGED",
}


def refuse_not_yet(model: ApiModel, members: Sequence[str], where: str) -> None:
    """Members whose effect is not implemented yet: refusing beats pretending."""
    for member in members:
        if getattr(model, member):
            raise ApiError(
                "InvalidParameterValue", f"`{where}.{member}` is not supported by this server yet."
            )


def check_env_type(env_type: str | None, where: str) -> None:
    if env_type is None:
        return
    refusal = _ENV_TYPE_REFUSALS.get(env_type, "must be MANAGED")
    if refusal is not None:
        raise ApiError("InvalidParameterValue.ComputeEnv", f"`{where}.EnvType` {refusal}.")


def requested_types(data: EnvData | None, where: str) -> list[str]:
    """The instance types asked for, ``InstanceType`` first, without repeats; at least one."""
    listed = [] if data is None else data.InstanceTypes or []
    if len(set(listed)) != len(listed):
        raise ApiError(
            "InvalidParameterValue.InstanceTypeDuplicate", f"`{where}.EnvData.InstanceTypes` repeats a type."
        )
    names = list(dict.fromkeys(n for n in ([] if data is None else [data.InstanceType, *listed]) if n))
    if not names:
        raise ApiError("InvalidParameterValue.ComputeEnv", f"`{where}.EnvData` must name an InstanceType.")
    return names


def catalog_type(name: str, instance_types: Mapping[str, InstanceType]) -> InstanceType:
    kind = instance_types.get(name)
    if kind is None:
        raise ApiError(
            "InvalidParameterValue.InstanceType", f"The instance type `{name}` is not offered here."
        )
    return kind


def check_cvm_fields(data: EnvData | None, where: str) -> None:
    """CVM details have no effect on a node here; those with a known format are still checked."""
    if data is None:
        return
    if data.ImageId and not limits.IMAGE_ID.fullmatch(data.ImageId):
        raise ApiError("InvalidParameter.ImageIdMalformed", f"`{where}.EnvData.ImageId` is malformed.")
    disks = [
        ("SystemDisk", data.SystemDisk),
        *((f"DataDisks.{i}", d) for i, d in enumerate(data.DataDisks or [])),
    ]
    for name, disk in disks:
        if disk is not None and (disk.DiskType or "CLOUD_BASIC") not in limits.DISK_TYPES:
            raise ApiError("InvalidParameter.CvmParameters", f"`{where}.EnvData.{name}.DiskType` is unknown.")
        if disk is not None and disk.DiskSize is not None and disk.DiskSize <= 0:
            raise ApiError(
                "InvalidParameter.CvmParameters", f"`{where}.EnvData.{name}.DiskSize` must be positive."
            )


def check_data_zones(zones: Mapping[str, list[str]], region: str, data: EnvData | None, where: str) -> None:
    for zone in (data.Zones or []) if data else []:
        if zone not in zones.get(region, []):
            raise ApiError(
                "InvalidParameterValue.InvalidZoneMismatchRegion",
                f"`{where}.EnvData.Zones` names `{zone}`, outside region `{region}`.",
            )


def placement_zone(zones: Mapping[str, list[str]], region: str, placement: Placement) -> str:
    """The zone to place in: one of the caller's region, else the documented error for another's."""
    zone = placement.Zone
    if zone in zones.get(region, []):
        return zone
    if any(zone in known for known in zones.values()):
        raise ApiError("InvalidZone.MismatchRegion", f"The zone `{zone}` is not in region `{region}`.")
    raise ApiError("InvalidParameterValue.UnavailableZone", f"The zone `{zone}` is not available.")
