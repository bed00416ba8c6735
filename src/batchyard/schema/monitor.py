"""DescribeJobMonitorData: the request and its answer (API_NOTES §2.16)."""

from __future__ import annotations

from batchyard.schema.base import ApiModel, Int64


class Dimension(ApiModel):
    Name: str
    Value: str


class DescribeJobMonitorDataRequest(ApiModel):
    JobId: str
    TaskName: str
    TaskInstanceIndex: Int64
    MetricName: str
    StartTime: str | None = None
    EndTime: str | None = None
    Dimensions: list[Dimension] | None = None


class DataPointView(ApiModel):
    Timestamps: list[int]
    Values: list[float | None]  # null: no attempt ran then, or the metric cannot be measured here


class DescribeJobMonitorDataResponse(ApiModel):
    Period: int
    DataPoints: DataPointView
