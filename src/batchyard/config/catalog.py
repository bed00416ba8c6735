"""Default catalogs: Tencent's public regions and common CVM instance types.

Both are data a deployment can override in its config file; the defaults let the official examples
(``ap-guangzhou-3``, ``S1.SMALL1``, ``S2.SMALL1``, ``S5.MEDIUM4``...) run unchanged. An instance
type's config needs only its size: its family, category and display name follow from its name unless
given, so a config written before those keys existed describes the same catalog.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# Batch runs instances pay-as-you-go or on spot capacity, never prepaid (the charge-type filter's values).
ChargeType = Literal["POSTPAID_BY_HOUR", "SPOTPAID"]
CHARGE_TYPES: Final[tuple[ChargeType, ...]] = ("POSTPAID_BY_HOUR", "SPOTPAID")


class InstanceType(BaseModel):
    """One entry of the catalog; blank descriptive keys are filled in by ``completed``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cpu: int
    memory_gib: int
    gpu: int = 0
    family: str = ""  # default: the name up to its dot ("S5" for "S5.MEDIUM4")
    category: str = ""  # default: from the family (FAMILY_CATEGORIES), else GPU or GENERAL
    type_name: str = ""  # default: "<label of the category> <family>", e.g. "Standard S5"
    charge_types: tuple[ChargeType, ...] = Field(default=CHARGE_TYPES, min_length=1)


# Tencent's own grouping of families, as its DescribeInstanceCategories example lists it; families it
# predates fall back to GPU (they have GPUs) or GENERAL, the catch-all its InstanceCategories accept.
FAMILY_CATEGORIES: Final[dict[str, str]] = {
    **dict.fromkeys(("C3", "CN3"), "COMPUTE_3"),
    "C2": "COMPUTE_2",
    **dict.fromkeys(("S2", "S2ne", "I2", "D1", "M2"), "GENERAL_2"),
    **dict.fromkeys(("S3", "SN3ne", "S4", "I3", "M3", "M4"), "GENERAL_3"),
}
# How a category reads in a type's display name (``TypeName``), by the category's stem.
_CATEGORY_LABELS: Final[dict[str, str]] = {"GENERAL": "Standard", "COMPUTE": "Compute", "GPU": "GPU"}


def completed(name: str, kind: InstanceType) -> InstanceType:
    """``kind`` with its blank family, category and display name derived from its name and size."""
    family = kind.family or name.partition(".")[0]
    category = kind.category or FAMILY_CATEGORIES.get(family, "GPU" if kind.gpu else "GENERAL")
    stem = category.partition("_")[0]
    type_name = kind.type_name or f"{_CATEGORY_LABELS.get(stem, stem.capitalize())} {family}"
    return kind.model_copy(update={"family": family, "category": category, "type_name": type_name})


def _completed_all(types: dict[str, InstanceType]) -> dict[str, InstanceType]:
    return {name: completed(name, kind) for name, kind in types.items()}


# The type of ``Settings.instance_types``: every entry completed once, when the config is read.
Catalog = Annotated[dict[str, InstanceType], AfterValidator(_completed_all)]


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
_STANDARD_FAMILIES: tuple[str, ...] = ("S1", "S2", "S3", "S4", "S5", "S6", "SA2", "SA3", "SA5")
# GPU types (NVIDIA T4): name -> (vCPU, memory GiB, GPUs), as Tencent's GN7 family lists them.
_GPU_TYPES: dict[str, tuple[int, int, int]] = {
    "GN7.2XLARGE32": (8, 32, 1),
    "GN7.5XLARGE80": (20, 80, 1),
    "GN7.8XLARGE128": (32, 128, 1),
    "GN7.10XLARGE160": (40, 160, 2),
    "GN7.20XLARGE320": (80, 320, 4),
}


def default_zones() -> dict[str, list[str]]:
    return {region: [f"{region}-{n}" for n in range(1, 10)] for region in PUBLIC_REGIONS}


def default_instance_types() -> dict[str, InstanceType]:
    """Completed here: pydantic does not validate a default, so ``Catalog``'s validator never sees it."""
    standard = {
        f"{family}.{size}": InstanceType(cpu=cpu, memory_gib=mem)
        for family in _STANDARD_FAMILIES
        for size, (cpu, mem) in _STANDARD_SIZES.items()
    }
    gpu = {name: InstanceType(cpu=cpu, memory_gib=mem, gpu=n) for name, (cpu, mem, n) in _GPU_TYPES.items()}
    return _completed_all({**standard, **gpu})
