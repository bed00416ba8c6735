"""Default catalogs: Tencent's public regions and common CVM instance types.

Both are data a deployment can override in its config file; the defaults let the official examples
(``ap-guangzhou-3``, ``S2.SMALL1``, ``S5.MEDIUM4``...) run unchanged.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class InstanceType(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    cpu: int
    memory_gib: int
    gpu: int = 0
    family: str = ""


PUBLIC_REGIONS: tuple[str, ...] = (
    "ap-guangzhou",
    "ap-shanghai",
    "ap-nanjing",
    "ap-beijing",
    "ap-chengdu",
    "ap-chongqing",
    "ap-hongkong",
    "ap-singapore",
    "ap-jakarta",
    "ap-seoul",
    "ap-tokyo",
    "ap-bangkok",
    "ap-mumbai",
    "na-siliconvalley",
    "na-ashburn",
    "eu-frankfurt",
    "sa-saopaulo",
)

# Size suffix -> (vCPU, memory GiB), the standard-family shapes of Tencent CVM.
_STANDARD_SIZES: dict[str, tuple[int, int]] = {
    "SMALL1": (1, 1),
    "SMALL2": (1, 2),
    "SMALL4": (1, 4),
    "MEDIUM2": (2, 2),
    "MEDIUM4": (2, 4),
    "MEDIUM8": (2, 8),
    "LARGE8": (4, 8),
    "LARGE16": (4, 16),
    "2XLARGE16": (8, 16),
    "2XLARGE32": (8, 32),
    "4XLARGE32": (16, 32),
    "4XLARGE64": (16, 64),
}
_STANDARD_FAMILIES: tuple[str, ...] = ("S2", "S3", "S4", "S5", "S6", "SA2", "SA3", "SA5")


def default_zones() -> dict[str, list[str]]:
    return {region: [f"{region}-{n}" for n in range(1, 10)] for region in PUBLIC_REGIONS}


def default_instance_types() -> dict[str, InstanceType]:
    return {
        f"{family}.{size}": InstanceType(cpu=cpu, memory_gib=mem, family=family)
        for family in _STANDARD_FAMILIES
        for size, (cpu, mem) in _STANDARD_SIZES.items()
    }
