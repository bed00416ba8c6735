"""Requests and responses of the job actions: submit, describe, terminate, retry and delete.

Requests validate what the caller sent (see ``base.parse``). Responses are built by the service
layer and serialized with ``base.dump``; their members have no defaults so that leaving one out is
a type error rather than a field the SDK silently reads as None. ``RequestId`` belongs to the
envelope, which the API layer adds to every response, so no model here carries it.
"""

from __future__ import annotations

from batchyard.schema import common
from batchyard.schema.base import ApiModel, Int64, UInt64

# Requests


class SubmitJobRequest(ApiModel):
    Placement: common.Placement
    Job: common.Job
    ClientToken: str | None = None


class DescribeJobRequest(ApiModel):
    JobId: str


class DescribeJobsRequest(ApiModel):
    JobIds: list[str] | None = None
    Filters: list[common.Filter] | None = None
    Offset: Int64 | None = None
    Limit: Int64 | None = None


class DescribeJobSubmitInfoRequest(ApiModel):
    JobId: str


class DescribeTaskRequest(ApiModel):
    JobId: str
    TaskName: str
    Offset: UInt64 | None = None
    Limit: UInt64 | None = None
    Filters: list[common.Filter] | None = None


class DescribeTaskLogsRequest(ApiModel):
    JobId: str
    TaskName: str
    TaskInstanceIndexes: list[UInt64] | None = None
    Offset: UInt64 | None = None
    Limit: UInt64 | None = None


class TerminateJobRequest(ApiModel):
    JobId: str


class TerminateTaskInstanceRequest(ApiModel):
    JobId: str
    TaskName: str
    TaskInstanceIndex: Int64


class RetryJobsRequest(ApiModel):
    JobIds: list[str]


class DeleteJobRequest(ApiModel):
    JobId: str


# Responses


class OkResponse(ApiModel):
    """The answer of a mutator whose response holds nothing but the envelope's ``RequestId``."""


class SubmitJobResponse(ApiModel):
    JobId: str


class StateCounts(ApiModel):
    """How many tasks (or instances) are in each state; every state is counted, zeros included."""

    SubmittedCount: Int64
    PendingCount: Int64
    RunnableCount: Int64
    StartingCount: Int64
    RunningCount: Int64
    SucceedCount: Int64
    FailedInterruptedCount: Int64
    FailedCount: Int64


class TaskMetrics(StateCounts):
    pass


class TaskInstanceMetrics(StateCounts):
    pass


class TaskView(ApiModel):
    """``StateReason`` is not in the SDK's model (which ignores it): why the task's waiting instances
    wait, while some do (docs/semantics.md, "Why an instance waits"); empty otherwise."""

    TaskName: str
    TaskState: str
    CreateTime: str
    EndTime: str | None
    StateReason: str


class DescribeJobResponse(ApiModel):
    JobId: str
    JobName: str
    Zone: str
    Priority: Int64
    JobState: str
    CreateTime: str
    EndTime: str | None
    TaskSet: list[TaskView]
    DependenceSet: list[common.Dependence]
    TaskMetrics: TaskMetrics
    TaskInstanceMetrics: TaskInstanceMetrics
    StateReason: str
    Tags: list[common.Tag] | None
    NextAction: str


class JobView(ApiModel):
    JobId: str
    JobName: str
    JobState: str
    Priority: Int64
    Placement: common.Placement
    CreateTime: str
    EndTime: str | None
    TaskMetrics: TaskMetrics
    Tags: list[common.Tag] | None


class DescribeJobsResponse(ApiModel):
    JobSet: list[JobView]
    TotalCount: Int64


class DescribeJobSubmitInfoResponse(ApiModel):
    JobId: str
    JobName: str
    JobDescription: str
    Priority: Int64
    Tasks: list[common.Task]
    Dependences: list[common.Dependence]
    Tags: list[common.Tag] | None


class TaskInstanceView(ApiModel):
    """One task instance; the node, times and exit code stay null until the instance gets that far.

    ``StateIfCreateCvmFailed`` is not in the current SDK model (which ignores it); an older official
    DescribeTask example shows it on every instance, and batchyard keeps showing it.
    """

    TaskInstanceIndex: Int64
    TaskInstanceState: str
    ExitCode: Int64 | None
    StateReason: str
    ComputeNodeInstanceId: str | None
    CreateTime: str
    LaunchTime: str | None
    RunningTime: str | None
    EndTime: str | None
    RedirectInfo: common.RedirectInfo
    StateDetailedReason: str
    StateIfCreateCvmFailed: str


class DescribeTaskResponse(ApiModel):
    JobId: str
    TaskName: str
    TaskState: str
    CreateTime: str
    EndTime: str | None
    TaskInstanceTotalCount: Int64
    TaskInstanceSet: list[TaskInstanceView]
    TaskInstanceMetrics: TaskInstanceMetrics


class TaskInstanceLog(ApiModel):
    """Logs are Base64 (a ``data:`` URI in the official example), null while none was captured."""

    TaskInstanceIndex: UInt64
    StdoutLog: str | None
    StderrLog: str | None
    StdoutRedirectPath: str
    StderrRedirectPath: str
    StdoutRedirectFileName: str
    StderrRedirectFileName: str


class DescribeTaskLogsResponse(ApiModel):
    TotalCount: UInt64
    TaskInstanceLogSet: list[TaskInstanceLog]
