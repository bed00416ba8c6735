"""Task actions."""

from __future__ import annotations

from batchyard.api.actions.registry import Action, Services
from batchyard.schema.jobs import (
    DescribeTaskLogsRequest,
    DescribeTaskLogsResponse,
    DescribeTaskRequest,
    DescribeTaskResponse,
)
from batchyard.service.context import Caller


def describe_task(s: Services, caller: Caller, r: DescribeTaskRequest) -> DescribeTaskResponse:
    return s.tasks.describe(caller, r)


def describe_task_logs(s: Services, caller: Caller, r: DescribeTaskLogsRequest) -> DescribeTaskLogsResponse:
    return s.tasks.logs(caller, r)


ACTIONS: dict[str, Action] = {
    "DescribeTask": Action(DescribeTaskRequest, describe_task),
    "DescribeTaskLogs": Action(DescribeTaskLogsRequest, describe_task_logs),
}
