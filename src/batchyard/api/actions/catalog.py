"""Configuration actions: the instance-type catalog per zone, and its categories.

They read only the configuration and the executor's hosts, kept in memory, so they answer inline.
"""

from __future__ import annotations

from batchyard.api.actions.registry import Action, Services
from batchyard.schema.catalog import (
    DescribeAvailableCvmInstanceTypesRequest,
    DescribeAvailableCvmInstanceTypesResponse,
    DescribeCvmZoneInstanceConfigInfosRequest,
    DescribeCvmZoneInstanceConfigInfosResponse,
    DescribeInstanceCategoriesRequest,
    DescribeInstanceCategoriesResponse,
)
from batchyard.service.context import Caller


def describe_available_cvm_instance_types(
    s: Services, caller: Caller, r: DescribeAvailableCvmInstanceTypesRequest
) -> DescribeAvailableCvmInstanceTypesResponse:
    return s.catalog.available_types(caller, r.Filters)


def describe_cvm_zone_instance_config_infos(
    s: Services, caller: Caller, r: DescribeCvmZoneInstanceConfigInfosRequest
) -> DescribeCvmZoneInstanceConfigInfosResponse:
    return s.catalog.zone_configs(caller, r.Filters)


def describe_instance_categories(
    s: Services, _caller: Caller, _r: DescribeInstanceCategoriesRequest
) -> DescribeInstanceCategoriesResponse:
    return s.catalog.categories()


ACTIONS: dict[str, Action] = {
    "DescribeAvailableCvmInstanceTypes": Action(
        DescribeAvailableCvmInstanceTypesRequest, describe_available_cvm_instance_types, inline=True
    ),
    "DescribeCvmZoneInstanceConfigInfos": Action(
        DescribeCvmZoneInstanceConfigInfosRequest, describe_cvm_zone_instance_config_infos, inline=True
    ),
    "DescribeInstanceCategories": Action(
        DescribeInstanceCategoriesRequest, describe_instance_categories, inline=True
    ),
}
