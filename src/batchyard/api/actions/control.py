"""Actions that change existing jobs."""

from __future__ import annotations

from batchyard.api.actions.registry import Action, Services
from batchyard.schema.jobs import (
    DeleteJobRequest,
    OkResponse,
    RetryJobsRequest,
    TerminateJobRequest,
    TerminateTaskInstanceRequest,
)
from batchyard.service.context import Caller


def terminate_job(s: Services, caller: Caller, r: TerminateJobRequest) -> OkResponse:
    s.control.terminate_job(caller, r.JobId)
    return OkResponse()


def terminate_task_instance(s: Services, caller: Caller, r: TerminateTaskInstanceRequest) -> OkResponse:
    s.control.terminate_instance(caller, r.JobId, r.TaskName, r.TaskInstanceIndex)
    return OkResponse()


def retry_jobs(s: Services, caller: Caller, r: RetryJobsRequest) -> OkResponse:
    s.control.retry_jobs(caller, r.JobIds)
    return OkResponse()


def delete_job(s: Services, caller: Caller, r: DeleteJobRequest) -> OkResponse:
    s.control.delete_job(caller, r.JobId)
    return OkResponse()


ACTIONS: dict[str, Action] = {
    "TerminateJob": Action(TerminateJobRequest, terminate_job),
    "TerminateTaskInstance": Action(TerminateTaskInstanceRequest, terminate_task_instance),
    "RetryJobs": Action(RetryJobsRequest, retry_jobs),
    "DeleteJob": Action(DeleteJobRequest, delete_job),
}
