"""Building response models from store rows: the one place that knows both shapes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batchyard.domain.redirect import log_file_name
from batchyard.domain.states import METRIC_FIELDS, State
from batchyard.domain.task_spec import TaskSpec
from batchyard.domain.times import iso, iso_or_none
from batchyard.schema.common import Placement, RedirectInfo, Tag
from batchyard.schema.jobs import JobView, TaskInstanceMetrics, TaskInstanceView, TaskMetrics, TaskView
from batchyard.service import limits
from batchyard.store.queries import counters


def metrics_kwargs(counts: Mapping[str, int]) -> dict[str, int]:
    return {field: counts.get(state.value, 0) for state, field in METRIC_FIELDS.items()}


def task_metrics(task_states: list[str]) -> TaskMetrics:
    counts: dict[str, int] = {}
    for state in task_states:
        counts[state] = counts.get(state, 0) + 1
    return TaskMetrics(**metrics_kwargs(counts))


def instance_metrics(task_rows: list[Any]) -> TaskInstanceMetrics:
    totals: dict[str, int] = {}
    for row in task_rows:
        for state, n in counters(row).items():
            totals[state] = totals.get(state, 0) + n
    return TaskInstanceMetrics(**metrics_kwargs(totals))


def tags(row: Any) -> list[Tag]:
    """A job's or a compute environment's tags, kept as given."""
    return [Tag(Key=t["Key"], Value=t["Value"]) for t in row.tags]


def placement(zone: str) -> Placement:
    return Placement(Zone=zone, ProjectId=0, HostIds=[])


def task_view(task: Any) -> TaskView:
    return TaskView(
        TaskName=task.name,
        TaskState=task.state,
        CreateTime=iso(task.create_time),
        EndTime=iso_or_none(task.end_time),
        StateReason=waiting_reason(task),
    )


def waiting_reason(task: Any) -> str:
    """Why the task's waiting instances wait, while some do: a reason left from an earlier wait is
    never shown."""
    return (task.wait_reason or "") if task.n_pending or task.n_runnable else ""


def job_view(job: Any, task_states: list[str]) -> JobView:
    return JobView(
        JobId=job.job_id,
        JobName=job.name,
        JobState=job.state,
        Priority=job.priority,
        Placement=placement(job.zone),
        CreateTime=iso(job.create_time),
        EndTime=iso_or_none(job.end_time),
        TaskMetrics=task_metrics(task_states),
        Tags=tags(job),
    )


def redirect_info(spec: TaskSpec, job_id: str, task_name: str, index: int) -> RedirectInfo:
    return RedirectInfo(
        StdoutRedirectPath=spec.stdout_path or "",
        StderrRedirectPath=spec.stderr_path or "",
        StdoutRedirectFileName=log_file_name(spec.stdout_name, "stdout", job_id, task_name, index),
        StderrRedirectFileName=log_file_name(spec.stderr_name, "stderr", job_id, task_name, index),
    )


_DETAILED_REASON = {State.SUCCEED.value: "successful"}
_WAITING = frozenset({State.PENDING.value, State.RUNNABLE.value})


def instance_reason(row: Any, task: Any) -> str:
    """The instance's own reason (a retry's last failure, a type no host can hold), else, while it waits,
    its task's waiting reason: said once per task, so explaining costs nothing per instance."""
    if row.reason or row.state not in _WAITING:
        return str(row.reason)
    return waiting_reason(task)


def instance_view(row: Any, task: Any, spec: TaskSpec, job: Any) -> TaskInstanceView:
    reason = instance_reason(row, task)
    return TaskInstanceView(
        TaskInstanceIndex=row.idx,
        TaskInstanceState=row.state,
        ExitCode=row.exit_code,
        StateReason=reason,
        ComputeNodeInstanceId=row.node_instance_id,
        CreateTime=iso(task.create_time),
        LaunchTime=iso_or_none(row.launch_time),
        RunningTime=iso_or_none(row.running_time),
        EndTime=iso_or_none(row.end_time),
        RedirectInfo=redirect_info(spec, job.job_id, task.name, row.idx),
        StateDetailedReason=_DETAILED_REASON.get(row.state, reason),
        StateIfCreateCvmFailed=state_if_create_cvm_failed(job),
    )


def state_if_create_cvm_failed(job: Any) -> str:
    """The job's ``StateIfCreateCvmFailed`` as submitted, shown on each of its instances as the
    official DescribeTask example once did."""
    default = limits.STATES_IF_CREATE_CVM_FAILED[0]
    return str(job.submit_info["Job"].get("StateIfCreateCvmFailed", default))
