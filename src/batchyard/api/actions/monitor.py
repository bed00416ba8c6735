"""DescribeJobMonitorData: the handler only moves a parsed request into its use case and back."""

from __future__ import annotations

from batchyard.api.actions.registry import Action, Services
from batchyard.schema.monitor import DescribeJobMonitorDataRequest, DescribeJobMonitorDataResponse
from batchyard.service.context import Caller


def describe_job_monitor_data(
    s: Services, caller: Caller, r: DescribeJobMonitorDataRequest
) -> DescribeJobMonitorDataResponse:
    return s.monitor.describe(caller, r)


ACTIONS: dict[str, Action] = {
    "DescribeJobMonitorData": Action(DescribeJobMonitorDataRequest, describe_job_monitor_data),
}
