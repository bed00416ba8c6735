"""Requests and responses of the configuration actions: instance types per zone, and their categories.

Members, their order, types and required flags follow tccli's ``api.json`` (see ``common``). As in
``jobs``, response members have no defaults, so a member the service forgets fails here, not silently
in the SDK. The members Tencent allows to be null (``ItemPrice``, ``Externals``) are typed so.
"""

from __future__ import annotations

from batchyard.schema import common
from batchyard.schema.base import ApiModel, Int64

# Requests


class DescribeAvailableCvmInstanceTypesRequest(ApiModel):
    Filters: list[common.Filter] | None = None


class DescribeCvmZoneInstanceConfigInfosRequest(ApiModel):
    Filters: list[common.Filter] | None = None


class DescribeInstanceCategoriesRequest(ApiModel):
    """The action takes no parameters (beyond the common ones)."""


# Responses


class InstanceTypeConfig(ApiModel):
    """An instance type offered in a zone; ``Mem`` in GiB."""

    Mem: Int64
    Cpu: Int64
    InstanceType: str
    Zone: str
    InstanceFamily: str


class DescribeAvailableCvmInstanceTypesResponse(ApiModel):
    InstanceTypeConfigSet: list[InstanceTypeConfig]


class StorageBlock(ApiModel):
    Type: str | None = None
    MinSize: Int64 | None = None
    MaxSize: Int64 | None = None


class Externals(ApiModel):
    ReleaseAddress: bool | None = None
    UnsupportNetworks: list[str] | None = None
    StorageBlockAttr: StorageBlock | None = None


class LocalDiskType(ApiModel):
    Type: str
    PartitionType: str
    MinSize: Int64
    MaxSize: Int64
    Required: str


class ItemPrice(ApiModel):
    """Prices in yuan: the ``UnitPrice*`` members for pay-as-you-go, the others for prepaid."""

    UnitPrice: float | None
    ChargeUnit: str | None
    OriginalPrice: float | None
    DiscountPrice: float | None
    Discount: float | None
    UnitPriceDiscount: float | None
    UnitPriceSecondStep: float | None
    UnitPriceDiscountSecondStep: float | None
    UnitPriceThirdStep: float | None
    UnitPriceDiscountThirdStep: float | None
    OriginalPriceThreeYear: float | None
    DiscountPriceThreeYear: float | None
    DiscountThreeYear: float | None
    OriginalPriceFiveYear: float | None
    DiscountPriceFiveYear: float | None
    DiscountFiveYear: float | None
    OriginalPriceOneYear: float | None
    DiscountPriceOneYear: float | None
    DiscountOneYear: float | None


class InstanceTypeQuotaItem(ApiModel):
    """An instance type in a zone under one charge type; ``Status`` SELL or SOLD_OUT, ``Memory`` in GiB."""

    Zone: str
    InstanceType: str
    InstanceChargeType: str
    NetworkCard: Int64
    Externals: Externals
    Cpu: Int64
    Memory: Int64
    InstanceFamily: str
    TypeName: str
    LocalDiskTypeList: list[LocalDiskType]
    Status: str
    Price: ItemPrice
    SoldOutReason: str
    InstanceBandwidth: float
    InstancePps: Int64
    StorageBlockAmount: Int64
    CpuType: str
    Gpu: Int64
    Fpga: Int64
    Remark: str
    GpuCount: float
    Frequency: str
    StatusCategory: str


class DescribeCvmZoneInstanceConfigInfosResponse(ApiModel):
    InstanceTypeQuotaSet: list[InstanceTypeQuotaItem]


class InstanceCategoryItem(ApiModel):
    InstanceCategory: str
    InstanceFamilySet: list[str]


class DescribeInstanceCategoriesResponse(ApiModel):
    InstanceCategorySet: list[InstanceCategoryItem]
