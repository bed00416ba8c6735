"""Job actions: each handler only moves a parsed request into a use case and back."""

from __future__ import annotations

from batchyard.api.actions.registry import Action, Services
from batchyard.schema.jobs import (
    DescribeJobRequest,
    DescribeJobResponse,
    DescribeJobsRequest,
    DescribeJobsResponse,
    DescribeJobSubmitInfoRequest,
    DescribeJobSubmitInfoResponse,
    SubmitJobRequest,
    SubmitJobResponse,
)
from batchyard.service.context import Caller


def submit_job(s: Services, caller: Caller, r: SubmitJobRequest) -> SubmitJobResponse:
    return SubmitJobResponse(JobId=s.submitter.submit(caller, r))


def describe_job(s: Services, caller: Caller, r: DescribeJobRequest) -> DescribeJobResponse:
    return s.jobs.describe(caller, r.JobId)


def describe_jobs(s: Services, caller: Caller, r: DescribeJobsRequest) -> DescribeJobsResponse:
    return s.jobs.describe_many(caller, r)


def describe_job_submit_info(
    s: Services, caller: Caller, r: DescribeJobSubmitInfoRequest
) -> DescribeJobSubmitInfoResponse:
    return s.jobs.submit_info(caller, r.JobId)


ACTIONS: dict[str, Action] = {
    "SubmitJob": Action(SubmitJobRequest, submit_job),
    "DescribeJob": Action(DescribeJobRequest, describe_job, inline=True),
    "DescribeJobs": Action(DescribeJobsRequest, describe_jobs),
    "DescribeJobSubmitInfo": Action(DescribeJobSubmitInfoRequest, describe_job_submit_info),
}
