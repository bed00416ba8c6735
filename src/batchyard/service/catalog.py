"""DescribeAvailableCvmInstanceTypes, DescribeCvmZoneInstanceConfigInfos, DescribeInstanceCategories.

They answer from the configured catalog: every type is offered in every zone of the caller's region,
under each of its charge types. Whether a type can run here is the hosts' answer, asked on every call
because hosts come and go: a type that no host could hold even empty (the scheduler's test, which
fails such a type's nodes) is ``SOLD_OUT`` with a reason giving the numbers, and is not among the
available types, so a user learns it before submitting rather than from a failed job.

Nothing is charged, so every price is zero per hour, and the prepaid and tiered prices, which do not
apply, are null as ``ItemPrice`` allows. Facts of a virtual machine the catalog does not know (network,
CPU model, local disks) are zero or empty.

A full listing of the default catalog is some 1,800 items, which cost more to build than to send; each
region's listing is built once per set of hosts and then only filtered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from batchyard.config.catalog import CHARGE_TYPES, InstanceType
from batchyard.domain.errors import ApiError
from batchyard.domain.resources import Resources
from batchyard.executors.base import Host
from batchyard.schema.base import ApiModel
from batchyard.schema.catalog import (
    DescribeAvailableCvmInstanceTypesResponse,
    DescribeCvmZoneInstanceConfigInfosResponse,
    DescribeInstanceCategoriesResponse,
    Externals,
    InstanceCategoryItem,
    InstanceTypeConfig,
    InstanceTypeQuotaItem,
    ItemPrice,
)
from batchyard.schema.common import Filter
from batchyard.service import listing
from batchyard.service.context import Caller

HostsView = Callable[[], Sequence[Host]]
Predicate = Callable[[ApiModel], bool]
Build = Callable[[Sequence[str]], Predicate]
Item = TypeVar("Item", bound=ApiModel)

SELL: Final = "SELL"
SOLD_OUT: Final = "SOLD_OUT"
_STOCK: Final = {SELL: "EnoughStock", SOLD_OUT: "WithoutStock"}
_HOSTS_NAMED = 3  # a reason names this many hosts' sizes, then counts the rest

# Nothing is charged: pay-as-you-go at zero an hour; prepaid and tiered prices do not apply (null).
FREE: Final = ItemPrice.model_validate(
    dict.fromkeys(ItemPrice.model_fields) | {"UnitPrice": 0.0, "UnitPriceDiscount": 0.0, "ChargeUnit": "HOUR"}
)
NO_EXTERNALS: Final = Externals(ReleaseAddress=None, UnsupportNetworks=None, StorageBlockAttr=None)


def _member_in(member: str) -> Build:
    """A filter on a member both item models name alike (``Zone``, ``InstanceFamily``...)."""

    def build(values: Sequence[str]) -> Predicate:
        wanted = frozenset(values)
        return lambda item: getattr(item, member) in wanted

    return build


def _charge_types(values: Sequence[str]) -> Predicate:
    unsupported = [v for v in values if v not in CHARGE_TYPES]
    if unsupported:
        raise ApiError(
            "InvalidParameterValue.UnsupportedBatchInstanceChargeType",
            f"`{unsupported[0]}` is not a charge type of Batch; use {' or '.join(CHARGE_TYPES)}.",
        )
    return _member_in("InstanceChargeType")(values)


AVAILABLE_FILTERS: Final[Mapping[str, Build]] = {
    "zone": _member_in("Zone"),
    "instance-family": _member_in("InstanceFamily"),
}
ZONE_CONFIG_FILTERS: Final[Mapping[str, Build]] = {
    **AVAILABLE_FILTERS,
    "instance-type": _member_in("InstanceType"),
    "instance-charge-type": _charge_types,
}


@dataclass(frozen=True)
class _Listing:
    """One region's answers for one set of hosts, before any filter."""

    available: list[InstanceTypeConfig]
    quotas: list[InstanceTypeQuotaItem]


class InstanceCatalog:
    def __init__(
        self, instance_types: Mapping[str, InstanceType], zones: Mapping[str, list[str]], hosts: HostsView
    ) -> None:
        self._types = instance_types
        self._zones = zones
        self._hosts = hosts
        self._categories = DescribeInstanceCategoriesResponse(InstanceCategorySet=categories(instance_types))
        self._listings: dict[tuple[str, tuple[Host, ...]], _Listing] = {}

    def available_types(
        self, caller: Caller, filters: list[Filter] | None
    ) -> DescribeAvailableCvmInstanceTypesResponse:
        keep = self._chooser(caller, filters, AVAILABLE_FILTERS)
        configs = [c for c in self._listing(caller.region).available if keep(c)]
        return DescribeAvailableCvmInstanceTypesResponse(InstanceTypeConfigSet=configs)

    def zone_configs(
        self, caller: Caller, filters: list[Filter] | None
    ) -> DescribeCvmZoneInstanceConfigInfosResponse:
        keep = self._chooser(caller, filters, ZONE_CONFIG_FILTERS)
        items = [q for q in self._listing(caller.region).quotas if keep(q)]
        return DescribeCvmZoneInstanceConfigInfosResponse(InstanceTypeQuotaSet=items)

    def categories(self) -> DescribeInstanceCategoriesResponse:
        return self._categories

    def _chooser(self, caller: Caller, filters: list[Filter] | None, table: Mapping[str, Build]) -> Predicate:
        predicates = listing.conditions(filters or [], table)
        listing.check_zone_filters(self._zones, caller.region, filters or [])
        return lambda item: all(p(item) for p in predicates)

    def _listing(self, region: str) -> _Listing:
        """Listings for other hosts are dropped when one is built; the dict is replaced, never changed,
        so a listing is only ever found under the hosts it was built for."""
        key = (region, tuple(self._hosts()))
        found = self._listings.get(key)
        if found is None:
            found = listing_of(self._types, self._zones.get(region, []), key[1])
            self._listings = {k: v for k, v in self._listings.items() if k[1] == key[1]} | {key: found}
        return found


def listing_of(types: Mapping[str, InstanceType], zones: Sequence[str], hosts: Sequence[Host]) -> _Listing:
    """Zone by zone, types in catalog order, each under its charge types in their configured order."""
    reasons = {name: sold_out_reason(name, kind, hosts) for name, kind in types.items()}
    configs = [_config(name, kind) for name, kind in types.items() if reasons[name] is None]
    quotas = [
        _quota(name, kind, charge, reasons[name])
        for name, kind in types.items()
        for charge in kind.charge_types
    ]
    return _Listing(available=_in_zones(configs, zones), quotas=_in_zones(quotas, zones))


def _in_zones(items: list[Item], zones: Sequence[str]) -> list[Item]:
    """A type is the same in every zone: each item is built (and checked) once and copied per zone."""
    return [item.model_copy(update={"Zone": zone}) for zone in zones for item in items]


def sold_out_reason(name: str, kind: InstanceType, hosts: Sequence[Host]) -> str | None:
    """None if some host, were it empty, could hold a node of this type; else why none can."""
    demand = Resources(kind.cpu, kind.memory_gib, kind.gpu)
    if any(host.capacity.fits(demand) for host in hosts):
        return None
    return f"No host can hold a node of instance type {name} ({demand}): {_offers(hosts)}."


def _offers(hosts: Sequence[Host]) -> str:
    if not hosts:
        return "there is no host"
    named = "; ".join(f"host {h.name} offers {h.capacity}" for h in hosts[:_HOSTS_NAMED])
    rest = len(hosts) - _HOSTS_NAMED
    return named if rest <= 0 else f"{named}; and {rest} more hosts"


def _config(name: str, kind: InstanceType) -> InstanceTypeConfig:
    """Without its zone, which ``_in_zones`` sets."""
    return InstanceTypeConfig(
        Mem=kind.memory_gib, Cpu=kind.cpu, InstanceType=name, Zone="", InstanceFamily=kind.family
    )


def _quota(name: str, kind: InstanceType, charge: str, reason: str | None) -> InstanceTypeQuotaItem:
    """Without its zone, which ``_in_zones`` sets."""
    status = SELL if reason is None else SOLD_OUT
    return InstanceTypeQuotaItem(
        Zone="",
        InstanceType=name,
        InstanceChargeType=charge,
        NetworkCard=0,
        Externals=NO_EXTERNALS,
        Cpu=kind.cpu,
        Memory=kind.memory_gib,
        InstanceFamily=kind.family,
        TypeName=kind.type_name,
        LocalDiskTypeList=[],
        Status=status,
        Price=FREE,
        SoldOutReason=reason or "",
        InstanceBandwidth=0.0,
        InstancePps=0,
        StorageBlockAmount=0,
        CpuType="",
        Gpu=kind.gpu,
        Fpga=0,
        Remark="",
        GpuCount=float(kind.gpu),
        Frequency="",
        StatusCategory=_STOCK[status],
    )


def categories(types: Mapping[str, InstanceType]) -> list[InstanceCategoryItem]:
    """Each category with its families, both in the order the catalog first names them."""
    families: dict[str, dict[str, None]] = {}
    for kind in types.values():
        families.setdefault(kind.category, {})[kind.family] = None
    return [InstanceCategoryItem(InstanceCategory=c, InstanceFamilySet=list(f)) for c, f in families.items()]
