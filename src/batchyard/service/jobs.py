"""DescribeJob, DescribeJobs, DescribeJobSubmitInfo."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from sqlalchemy import Connection

from batchyard.domain.errors import ApiError
from batchyard.domain.ids import is_job_id
from batchyard.domain.times import iso, iso_or_none
from batchyard.schema.common import Dependence, Filter, Task
from batchyard.schema.jobs import (
    DescribeJobResponse,
    DescribeJobsRequest,
    DescribeJobsResponse,
    DescribeJobSubmitInfoResponse,
)
from batchyard.service import views
from batchyard.service.context import Caller
from batchyard.store import queries
from batchyard.store.database import Database

JOBS_LIMIT_DEFAULT = 20
JOBS_LIMIT_MAX = 100
FILTER_VALUES_MAX = 100
FILTERS_MAX = 10  # undocumented; there are seven filter names, and each becomes a SQL condition
JOB_IDS_MAX = 100

_JOB_FILTERS: dict[str, Callable[[Sequence[str]], queries.JobFilter]] = {
    "job-id": queries.filter_job_ids,
    "job-name": queries.filter_job_names,
    "job-state": queries.filter_job_states,
    "zone": queries.filter_zones,
    "tag-key": queries.filter_tag_keys,
    "tag-value": queries.filter_tag_values,
}
_TAG_FILTER_PREFIX = "tag:"


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
        self._check_zone_filters(caller.region, request.Filters or [])
        offset, limit = _page(request.Offset, request.Limit)
        with self._db.read() as conn:
            total, jobs = queries.page_jobs(conn, caller.account, caller.region, where, offset, limit)
            states: dict[int, list[str]] = defaultdict(list)
            for row in queries.tasks_of_jobs(conn, [j.pk for j in jobs]):
                states[row.job_pk].append(row.state)
        return DescribeJobsResponse(JobSet=[views.job_view(j, states[j.pk]) for j in jobs], TotalCount=total)

    def _check_zone_filters(self, region: str, filters: list[Filter]) -> None:
        """A zone of another region can never match here: say so rather than answer nothing."""
        own = set(self._zones.get(region, []))
        for f in filters:
            foreign = [z for z in f.Values if f.Name == "zone" and z not in own]
            if any(z in zones for z in foreign for zones in self._zones.values()):
                raise ApiError(
                    "InvalidZone.MismatchRegion", f"The zone filter names a zone outside `{region}`."
                )

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
    if request.JobIds is not None and request.Filters is not None:
        raise ApiError(
            "InvalidParameter.InvalidParameterCombination", "JobIds and Filters cannot be given together."
        )
    if request.JobIds is not None:
        if len(request.JobIds) > JOB_IDS_MAX:
            raise ApiError("InvalidParameterValue.LimitExceeded", f"JobIds takes at most {JOB_IDS_MAX} ids.")
        for job_id in request.JobIds:
            if not is_job_id(job_id):
                raise ApiError("InvalidParameter.JobIdMalformed", f"`{job_id}` is not a job id.")
        return [queries.filter_job_ids(request.JobIds)]
    if len(request.Filters or []) > FILTERS_MAX:
        raise ApiError("InvalidParameterValue.LimitExceeded", f"Filters takes at most {FILTERS_MAX} filters.")
    return [_job_filter(f) for f in request.Filters or []]


def _job_filter(f: Filter) -> queries.JobFilter:
    build = _JOB_FILTERS.get(f.Name)
    if build is None and f.Name.startswith(_TAG_FILTER_PREFIX) and len(f.Name) > len(_TAG_FILTER_PREFIX):
        key = f.Name.removeprefix(_TAG_FILTER_PREFIX)
        build = partial(queries.filter_tag, key)
    if build is None:
        raise ApiError(
            "InvalidFilter", f"Unknown filter `{f.Name}`; use one of {', '.join(_JOB_FILTERS)} or tag:<key>."
        )
    if len(f.Values) > FILTER_VALUES_MAX:
        raise ApiError(
            "InvalidParameterValue.LimitExceeded", f"A filter takes at most {FILTER_VALUES_MAX} values."
        )
    return build(f.Values)


def _page(offset: int | None, limit: int | None) -> tuple[int, int]:
    if offset is not None and offset < 0:
        raise ApiError("InvalidParameterValue", "Offset must not be negative.")
    if limit is not None and not 0 < limit <= JOBS_LIMIT_MAX:
        raise ApiError("InvalidParameterValue.LimitExceeded", f"Limit must be 1..{JOBS_LIMIT_MAX}.")
    return offset or 0, limit or JOBS_LIMIT_DEFAULT
