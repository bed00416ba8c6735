"""DescribeJob, DescribeJobs, DescribeJobSubmitInfo."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from batchyard.domain.errors import ApiError
from batchyard.domain.ids import JOB_ID, is_job_id
from batchyard.domain.times import iso, iso_or_none
from batchyard.schema.common import Dependence, Task
from batchyard.schema.jobs import (
    DescribeJobResponse,
    DescribeJobsRequest,
    DescribeJobsResponse,
    DescribeJobSubmitInfoResponse,
)
from batchyard.service import listing, views
from batchyard.service.context import Caller
from batchyard.store import queries
from batchyard.store.database import Database

JOBS_LIMIT_DEFAULT = 20
JOBS_LIMIT_MAX = 100

_JOB_FILTERS: dict[str, Callable[[Sequence[str]], queries.JobFilter]] = {
    "job-id": queries.filter_job_ids,
    "job-name": queries.filter_job_names,
    "job-state": queries.filter_job_states,
    "zone": queries.filter_zones,
    "tag-key": queries.filter_tag_keys,
    "tag-value": queries.filter_tag_values,
}


def find_job(conn: Connection, caller: Caller, job_id: str) -> Any:
    """The caller's job, or the documented error for a malformed or unknown id."""
    if not is_job_id(job_id):
        raise ApiError("InvalidParameter.JobIdMalformed", f"`{job_id}` is not a job id.")
    job = queries.job_by_id(conn, caller.account, caller.region, job_id)
    if job is None:
        raise ApiError("ResourceNotFound.Job", f"The job `{job_id}` does not exist.")
    return job


class JobReader:
    def __init__(self, db: Database, zones: Mapping[str, list[str]]) -> None:
        self._db = db
        self._zones = zones

    def describe(self, caller: Caller, job_id: str) -> DescribeJobResponse:
        with self._db.read() as conn:
            job = find_job(conn, caller, job_id)
            tasks = queries.tasks_of(conn, job.pk)
            edges = queries.dependences_of(conn, job.pk)
        return DescribeJobResponse(
            JobId=job.job_id,
            JobName=job.name,
            Zone=job.zone,
            Priority=job.priority,
            JobState=job.state,
            CreateTime=iso(job.create_time),
            EndTime=iso_or_none(job.end_time),
            TaskSet=[views.task_view(t) for t in tasks],
            DependenceSet=[Dependence(StartTask=a, EndTask=b) for a, b in edges],
            TaskMetrics=views.task_metrics([t.state for t in tasks]),
            TaskInstanceMetrics=views.instance_metrics(tasks),
            StateReason=job.state_reason,
            Tags=views.tags(job),
            NextAction="",
        )

    def describe_many(self, caller: Caller, request: DescribeJobsRequest) -> DescribeJobsResponse:
        where = _job_filters(request)
        listing.check_zone_filters(self._zones, caller.region, request.Filters or [])
        offset, limit = listing.page(request.Offset, request.Limit, JOBS_LIMIT_DEFAULT, JOBS_LIMIT_MAX)
        with self._db.read() as conn:
            total, jobs = queries.page_jobs(conn, caller.account, caller.region, where, offset, limit)
            states: dict[int, list[str]] = defaultdict(list)
            for row in queries.tasks_of_jobs(conn, [j.pk for j in jobs]):
                states[row.job_pk].append(row.state)
        return DescribeJobsResponse(JobSet=[views.job_view(j, states[j.pk]) for j in jobs], TotalCount=total)

    def submit_info(self, caller: Caller, job_id: str) -> DescribeJobSubmitInfoResponse:
        with self._db.read() as conn:
            job = find_job(conn, caller, job_id)
        info = job.submit_info["Job"]
        return DescribeJobSubmitInfoResponse(
            JobId=job.job_id,
            JobName=job.name,
            JobDescription=job.description,
            Priority=job.priority,
            Tasks=[Task.model_validate(t) for t in info["Tasks"]],
            Dependences=[Dependence.model_validate(d) for d in info.get("Dependences", [])],
            Tags=views.tags(job),
        )


def _job_filters(request: DescribeJobsRequest) -> list[queries.JobFilter]:
    listing.check_ids_xor_filters(
        request.JobIds, request.Filters, "JobIds", JOB_ID, "InvalidParameter.JobIdMalformed"
    )
    if request.JobIds is not None:
        return [queries.filter_job_ids(request.JobIds)]
    return listing.conditions(request.Filters or [], _JOB_FILTERS, queries.filter_tag)
