"""The instance-type catalog through the official SDK: DescribeAvailableCvmInstanceTypes,
DescribeCvmZoneInstanceConfigInfos and DescribeInstanceCategories, their filters and error codes.

The module's server has one small host (2 CPU, 4 GiB, no GPU), so which default types it can place is
known: the standard shapes up to MEDIUM4, and no GPU type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tencentcloud.batch.v20170312 import batch_client
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from conftest import ZONE, Server, call, make_client, running

CONFIG = "[local]\ncpus = 2\nmemory_gib = 4\ngpus = 0\n"
ZONES = [f"ap-guangzhou-{n}" for n in range(1, 10)]
STANDARD_FAMILIES = ["S1", "S2", "S3", "S4", "S5", "S6", "SA2", "SA3", "SA5"]
FITTING_SIZES = ["SMALL1", "SMALL2", "SMALL4", "MEDIUM2", "MEDIUM4"]  # at most 2 CPU and 4 GiB
AVAILABLE = "DescribeAvailableCvmInstanceTypes"
ZONE_CONFIGS = "DescribeCvmZoneInstanceConfigInfos"
CHARGE_TYPES = ["POSTPAID_BY_HOUR", "SPOTPAID"]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from running(Server(tmp_path_factory.mktemp("catalog") / "data", config=CONFIG))


def sdk_code(action: Callable[[], Any]) -> str:
    with pytest.raises(TencentCloudSDKException) as info:
        action()
    return str(info.value.code)


def filters(**by_name: list[str]) -> dict[str, Any]:
    """``instance_family=["S5"]`` -> the request's ``Filters`` with the wire name ``instance-family``."""
    return {
        "Filters": [{"Name": name.replace("_", "-"), "Values": values} for name, values in by_name.items()]
    }


def available(client: batch_client.BatchClient, **by_name: list[str]) -> list[Any]:
    return list(call(client, AVAILABLE, filters(**by_name)).InstanceTypeConfigSet)


def quotas(client: batch_client.BatchClient, **by_name: list[str]) -> list[Any]:
    return list(call(client, ZONE_CONFIGS, filters(**by_name)).InstanceTypeQuotaSet)


# ---------------------------------------------------------------------------------------------------
# DescribeAvailableCvmInstanceTypes


def test_available_types_are_those_the_host_can_hold_in_every_zone_of_the_region(
    sdk: batch_client.BatchClient,
) -> None:
    listed = {(c.Zone, c.InstanceType) for c in available(sdk)}
    fitting = {f"{family}.{size}" for family in STANDARD_FAMILIES for size in FITTING_SIZES}
    assert listed == {(zone, name) for zone in ZONES for name in fitting}


def test_available_types_filter_by_zone_and_family_as_the_official_example_does(
    sdk: batch_client.BatchClient,
) -> None:
    configs = available(sdk, zone=[ZONE], instance_family=["S5"])
    assert [c.InstanceType for c in configs] == [f"S5.{size}" for size in FITTING_SIZES]
    medium = configs[-1]
    assert (medium.Zone, medium.InstanceFamily, medium.Cpu, medium.Mem) == (ZONE, "S5", 2, 4)


def test_values_of_one_filter_are_or_ed_and_filters_are_and_ed(sdk: batch_client.BatchClient) -> None:
    configs = available(sdk, zone=["ap-guangzhou-3", "ap-guangzhou-4"], instance_family=["S2", "SA5"])
    assert {c.Zone for c in configs} == {"ap-guangzhou-3", "ap-guangzhou-4"}
    assert {c.InstanceFamily for c in configs} == {"S2", "SA5"}
    assert len(configs) == 2 * 2 * len(FITTING_SIZES)


def test_a_zone_no_region_has_matches_nothing(sdk: batch_client.BatchClient) -> None:
    assert available(sdk, zone=["ap-nowhere-1"]) == []
    assert quotas(sdk, zone=["ap-nowhere-1"]) == []


def test_another_region_lists_its_own_zones(srv: Server) -> None:
    shanghai = make_client(srv.endpoint, region="ap-shanghai")
    assert {c.Zone for c in available(shanghai)} == {f"ap-shanghai-{n}" for n in range(1, 10)}


# ---------------------------------------------------------------------------------------------------
# DescribeCvmZoneInstanceConfigInfos


def test_zone_configs_list_every_type_under_each_charge_type(sdk: batch_client.BatchClient) -> None:
    items = quotas(sdk, zone=[ZONE])
    names = [i.InstanceType for i in items if i.InstanceChargeType == "POSTPAID_BY_HOUR"]
    assert "S5.4XLARGE64" in names and "GN7.2XLARGE32" in names
    assert [i.InstanceType for i in items if i.InstanceChargeType == "SPOTPAID"] == names
    assert {i.Zone for i in items} == {ZONE}


def test_a_type_the_host_can_hold_is_sold_free_of_charge(sdk: batch_client.BatchClient) -> None:
    (item,) = quotas(
        sdk, zone=[ZONE], instance_type=["S5.MEDIUM4"], instance_charge_type=["POSTPAID_BY_HOUR"]
    )
    assert (item.Status, item.StatusCategory, item.SoldOutReason) == ("SELL", "EnoughStock", "")
    assert (item.Cpu, item.Memory, item.Gpu, item.GpuCount) == (2, 4, 0, 0)
    assert (item.InstanceFamily, item.TypeName, item.LocalDiskTypeList) == ("S5", "Standard S5", [])
    assert (item.Price.UnitPrice, item.Price.UnitPriceDiscount, item.Price.ChargeUnit) == (0, 0, "HOUR")
    assert item.Price.OriginalPrice is None and item.Price.DiscountPriceOneYear is None


@pytest.mark.parametrize(
    ("name", "needs"),
    [("S5.4XLARGE64", "(16 CPU, 64 GiB)"), ("GN7.2XLARGE32", "(8 CPU, 32 GiB, 1 GPU)")],
    ids=["too-large", "needs-a-gpu"],
)
def test_a_type_no_host_can_hold_is_sold_out_with_the_numbers(
    sdk: batch_client.BatchClient, name: str, needs: str
) -> None:
    items = quotas(sdk, zone=[ZONE], instance_type=[name])
    assert [i.InstanceChargeType for i in items] == CHARGE_TYPES
    for item in items:
        assert (item.Status, item.StatusCategory) == ("SOLD_OUT", "WithoutStock")
        assert item.SoldOutReason == (
            f"No host can hold a node of instance type {name} {needs}: host local offers 2 CPU, 4 GiB."
        )
    assert name not in {c.InstanceType for c in available(sdk, zone=[ZONE])}


def test_gpu_types_count_their_gpus(sdk: batch_client.BatchClient) -> None:
    items = quotas(sdk, zone=[ZONE], instance_family=["GN7"], instance_charge_type=["SPOTPAID"])
    assert {i.InstanceType: (i.Gpu, i.GpuCount) for i in items}["GN7.10XLARGE160"] == (2, 2.0)
    assert {i.TypeName for i in items} == {"GPU GN7"}


def test_zone_configs_filter_by_charge_type(sdk: batch_client.BatchClient) -> None:
    spot = quotas(sdk, zone=[ZONE], instance_charge_type=["SPOTPAID"])
    both = quotas(sdk, zone=[ZONE], instance_charge_type=CHARGE_TYPES)
    assert {i.InstanceChargeType for i in spot} == {"SPOTPAID"}
    assert len(both) == 2 * len(spot)


@pytest.mark.parametrize("charge_type", ["PREPAID", "CDHPAID", "postpaid_by_hour"])
def test_a_charge_type_batch_does_not_offer_is_refused(
    sdk: batch_client.BatchClient, charge_type: str
) -> None:
    code = sdk_code(lambda: quotas(sdk, instance_charge_type=["SPOTPAID", charge_type]))
    assert code == "InvalidParameterValue.UnsupportedBatchInstanceChargeType"


# ---------------------------------------------------------------------------------------------------
# DescribeInstanceCategories


def test_categories_list_the_catalog_families(sdk: batch_client.BatchClient) -> None:
    categories = call(sdk, "DescribeInstanceCategories", {}).InstanceCategorySet
    listed = {c.InstanceCategory: c.InstanceFamilySet for c in categories}
    assert listed == {
        "GENERAL": ["S1", "S5", "S6", "SA2", "SA3", "SA5"],
        "GENERAL_2": ["S2"],
        "GENERAL_3": ["S3", "S4"],
        "GPU": ["GN7"],
    }


# ---------------------------------------------------------------------------------------------------
# Refusals common to both type listings


def too_many_filters() -> dict[str, Any]:
    return {"Filters": [{"Name": "zone", "Values": [ZONE]}] * 11}


REFUSALS: dict[str, tuple[str, dict[str, Any], str]] = {
    "available-unknown-filter": (AVAILABLE, filters(env_id=["x"]), "InvalidFilter"),
    "available-type-filter": (AVAILABLE, filters(instance_type=["S5.MEDIUM4"]), "InvalidFilter"),
    "available-charge-filter": (AVAILABLE, filters(instance_charge_type=["SPOTPAID"]), "InvalidFilter"),
    "configs-unknown-filter": (ZONE_CONFIGS, filters(instance_category=["GPU"]), "InvalidFilter"),
    "available-101-values": (
        AVAILABLE,
        filters(zone=[ZONE] * 101),
        "InvalidParameterValue.LimitExceeded",
    ),
    "configs-101-values": (
        ZONE_CONFIGS,
        filters(instance_type=["S5.MEDIUM4"] * 101),
        "InvalidParameterValue.LimitExceeded",
    ),
    "configs-11-filters": (ZONE_CONFIGS, too_many_filters(), "InvalidParameterValue.LimitExceeded"),
    "available-zone-of-another-region": (
        AVAILABLE,
        filters(zone=[ZONE, "ap-shanghai-2"]),
        "InvalidZone.MismatchRegion",
    ),
    "configs-zone-of-another-region": (
        ZONE_CONFIGS,
        filters(zone=["ap-beijing-3"]),
        "InvalidZone.MismatchRegion",
    ),
    "configs-filter-without-values": (ZONE_CONFIGS, {"Filters": [{"Name": "zone"}]}, "MissingParameter"),
}


@pytest.mark.parametrize(("action", "params", "code"), REFUSALS.values(), ids=REFUSALS.keys())
def test_invalid_list_request_is_refused(
    sdk: batch_client.BatchClient, action: str, params: dict[str, Any], code: str
) -> None:
    assert sdk_code(lambda: call(sdk, action, params)) == code


# ---------------------------------------------------------------------------------------------------
# A configured catalog

OWN_CATALOG = """
[local]
cpus = 2
memory_gib = 4
gpus = 1
[zones]
ap-guangzhou = ["ap-guangzhou-3"]
[instance_types."S5.MEDIUM4"]
cpu = 2
memory_gib = 4
[instance_types."X1.SMALL1"]
cpu = 1
memory_gib = 1
gpu = 1
category = "ACCELERATED"
type_name = "Accelerated X1"
charge_types = ["SPOTPAID"]
"""


@pytest.fixture(scope="module")
def own_srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from running(Server(tmp_path_factory.mktemp("own-catalog") / "data", config=OWN_CATALOG))


def test_a_configured_catalog_answers_with_its_own_keys_and_derives_the_rest(own_srv: Server) -> None:
    own = make_client(own_srv.endpoint)
    items = [(i.Zone, i.InstanceType, i.InstanceChargeType, i.TypeName, i.Status) for i in quotas(own)]
    assert items == [
        (ZONE, "S5.MEDIUM4", "POSTPAID_BY_HOUR", "Standard S5", "SELL"),
        (ZONE, "S5.MEDIUM4", "SPOTPAID", "Standard S5", "SELL"),
        (ZONE, "X1.SMALL1", "SPOTPAID", "Accelerated X1", "SELL"),  # the host has a GPU
    ]
    categories = call(own, "DescribeInstanceCategories", {}).InstanceCategorySet
    assert {c.InstanceCategory: c.InstanceFamilySet for c in categories} == {
        "GENERAL": ["S5"],
        "ACCELERATED": ["X1"],
    }
