"""DescribeTask and DescribeTaskLogs."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from batchyard.domain.attempts import LogRef
from batchyard.domain.errors import ApiError
from batchyard.domain.states import State
from batchyard.domain.task_spec import UNREADABLE, TaskSpec, stored_spec
from batchyard.domain.times import iso, iso_or_none
from batchyard.schema.common import Filter
from batchyard.schema.jobs import (
    DescribeTaskLogsRequest,
    DescribeTaskLogsResponse,
    DescribeTaskRequest,
    DescribeTaskResponse,
    TaskInstanceLog,
)
from batchyard.service import listing, views
from batchyard.service.context import Caller
from batchyard.service.jobs import find_job
from batchyard.service.task_validation import check_task_name
from batchyard.store import queries
from batchyard.store.database import Database

INSTANCES_LIMIT_DEFAULT = 100
INSTANCES_LIMIT_MAX = 1000
LOGS_LIMIT_DEFAULT = 5
LOGS_LIMIT_MAX = 10
_LOG_PREFIX = "data:text/plain;charset=utf-8;base64,"
# One filter under two names: the Chinese page (and the SDK) calls it task-instance-state, the English
# page task-instance-type (docs/semantics.md, "Where the English and Chinese pages differ").
_STATE_FILTERS = ("task-instance-state", "task-instance-type")


def find_task(conn: Connection, caller: Caller, job_id: str, task_name: str) -> tuple[Any, Any]:
    job = find_job(conn, caller, job_id)
    check_task_name(task_name, "TaskName")
    task = queries.task_by_name(conn, job.pk, task_name)
    if task is None:
        raise ApiError("ResourceNotFound.Task", f"The job `{job_id}` has no task `{task_name}`.")
    return job, task


# The executor's reader of an attempt's logs, wherever its node keeps them.
LogTail = Callable[[LogRef, str, int], bytes | None]


class TaskReader:
    def __init__(self, db: Database, log_tail_bytes: int, log_tail: LogTail) -> None:
        self._db = db
        self._tail = log_tail_bytes
        self._log_tail = log_tail

    def describe(self, caller: Caller, request: DescribeTaskRequest) -> DescribeTaskResponse:
        states = _state_filter(request.Filters)
        offset = request.Offset or 0
        limit = listing.page_limit(request.Limit, INSTANCES_LIMIT_DEFAULT, INSTANCES_LIMIT_MAX)
        with self._db.read() as conn:
            job, task = find_task(conn, caller, request.JobId, request.TaskName)
            rows = queries.instances_page(conn, task.pk, states, offset, limit)
        spec = stored_spec(task.spec) or UNREADABLE
        return DescribeTaskResponse(
            JobId=job.job_id,
            TaskName=task.name,
            TaskState=task.state,
            CreateTime=iso(task.create_time),
            EndTime=iso_or_none(task.end_time),
            TaskInstanceTotalCount=_matching(task, states),
            TaskInstanceSet=[views.instance_view(r, task, spec, job) for r in rows],
            TaskInstanceMetrics=views.instance_metrics([task]),
        )

    def logs(self, caller: Caller, request: DescribeTaskLogsRequest) -> DescribeTaskLogsResponse:
        if request.TaskInstanceIndexes is not None and request.Offset is not None:
            raise ApiError(
                "InvalidParameter.InvalidParameterCombination",
                "TaskInstanceIndexes and Offset cannot be given together.",
            )
        limit = listing.page_limit(request.Limit, LOGS_LIMIT_DEFAULT, LOGS_LIMIT_MAX)
        with self._db.read() as conn:
            job, task = find_task(conn, caller, request.JobId, request.TaskName)
            rows = self._log_rows(conn, task, request, limit)
            attempt_pks = queries.latest_attempt_pks(conn, task.pk, [r.idx for r in rows])
        spec = stored_spec(task.spec) or UNREADABLE
        logs = [self._log(job.job_id, task.name, spec, r.idx, attempt_pks.get(r.idx)) for r in rows]
        return DescribeTaskLogsResponse(TotalCount=task.instance_num, TaskInstanceLogSet=logs)

    @staticmethod
    def _log_rows(conn: Connection, task: Any, request: DescribeTaskLogsRequest, limit: int) -> list[Any]:
        if request.TaskInstanceIndexes is None:
            return queries.instances_page(conn, task.pk, None, request.Offset or 0, limit)
        indexes = request.TaskInstanceIndexes
        if len(indexes) > limit:
            raise ApiError(
                "InvalidParameterValue.LimitExceeded",
                f"{len(indexes)} TaskInstanceIndexes exceed Limit {limit} (at most {LOGS_LIMIT_MAX}).",
            )
        rows = queries.instances_by_index(conn, task.pk, indexes)
        missing = set(indexes) - {r.idx for r in rows}
        if missing:
            raise ApiError("ResourceNotFound.TaskInstance", f"The task has no instance {min(missing)}.")
        return rows

    def _log(
        self, job_id: str, task_name: str, spec: TaskSpec, index: int, attempt_pk: int | None
    ) -> TaskInstanceLog:
        redirect = views.redirect_info(spec, job_id, task_name, index)
        logs = None if attempt_pk is None else self._log_tails(job_id, attempt_pk)
        return TaskInstanceLog(
            TaskInstanceIndex=index,
            StdoutLog=None if logs is None else _encode(logs[0]),
            StderrLog=None if logs is None else _encode(logs[1]),
            StdoutRedirectPath=redirect.StdoutRedirectPath or "",
            StderrRedirectPath=redirect.StderrRedirectPath or "",
            StdoutRedirectFileName=redirect.StdoutRedirectFileName or "",
            StderrRedirectFileName=redirect.StderrRedirectFileName or "",
        )

    def _log_tails(self, job_id: str, attempt_pk: int) -> tuple[bytes, bytes]:
        ref = LogRef(job_id, attempt_pk, None)
        return self._log_tail(ref, "stdout", self._tail) or b"", self._log_tail(
            ref, "stderr", self._tail
        ) or b""


def _matching(task: Any, states: list[str] | None) -> int:
    """How many instances match the filter, from the task's counters (no row count)."""
    if states is None:
        return int(task.instance_num)
    counts = queries.counters(task)
    return sum(counts[s] for s in set(states))


def _encode(data: bytes) -> str:
    return _LOG_PREFIX + base64.b64encode(data).decode()


def _state_filter(filters: list[Filter] | None) -> list[str] | None:
    states: list[str] | None = None
    for f in filters or []:
        if f.Name not in _STATE_FILTERS:
            known = " or ".join(f"`{name}`" for name in _STATE_FILTERS)
            raise ApiError("InvalidFilter", f"Unknown filter `{f.Name}`; DescribeTask accepts {known}.")
        unknown = [v for v in f.Values if v not in State.__members__]
        if unknown:
            raise ApiError("InvalidParameterValue.InvalidFilter", f"`{unknown[0]}` is not an instance state.")
        states = [v for v in f.Values if states is None or v in states]
    return states
