"""A job as one read of the API: DescribeJob, then DescribeTask for each task's counts and failures.

DescribeJob alone says each task's state but not how far its instances got; ``submit --wait`` draws
its bars and ``job`` its tables from the same snapshot, so what a user watches and what they look up
afterwards always agree. A task that has finished is not asked about again while it stays finished.
``job`` also asks why a task's waiting instances wait: the StateReason of its first waiting instance,
which the official SDK reads on Tencent Cloud too (DescribeJob's task-level reason is batchyard's own).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from batchyard.cli.client import Api
from batchyard.cli.output import data
from batchyard.domain.states import FAILED_STATES, METRIC_FIELDS, TERMINAL, State

FAILED_SHOWN = 20  # failed instances fetched per task; the rest are counted, not listed
_WAITING = [State.PENDING.value, State.RUNNABLE.value]


@dataclass(frozen=True)
class Counts:
    """How many instances are in each state (the API's TaskInstanceMetrics)."""

    by_state: Mapping[State, int]

    @classmethod
    def of(cls, metrics: Any) -> Counts:
        """Metrics the API left out (None) count nothing."""
        return cls({s: int(getattr(metrics, f, None) or 0) for s, f in METRIC_FIELDS.items()})

    def __getitem__(self, state: State) -> int:
        return self.by_state[state]

    @property
    def total(self) -> int:
        return sum(self.by_state.values())

    @property
    def finished(self) -> int:
        return sum(self.by_state[s] for s in TERMINAL)

    @property
    def succeeded(self) -> int:
        return self.by_state[State.SUCCEED]

    @property
    def failed(self) -> int:
        return sum(self.by_state[s] for s in FAILED_STATES)

    @property
    def running(self) -> int:
        return self.by_state[State.STARTING] + self.by_state[State.RUNNING]

    @property
    def waiting(self) -> int:
        return self.total - self.finished - self.running


@dataclass(frozen=True)
class TaskDetail:
    """One task's DescribeTask answer, its instances narrowed to the failed ones."""

    response: Any
    waiting_reason: str = ""  # the first waiting instance's StateReason, when asked for

    @property
    def state(self) -> str:
        return str(self.response.TaskState)

    @property
    def counts(self) -> Counts:
        return Counts.of(self.response.TaskInstanceMetrics)

    @property
    def failed_instances(self) -> list[Any]:
        return list(self.response.TaskInstanceSet or [])

    @property
    def failed_total(self) -> int:
        return int(self.response.TaskInstanceTotalCount or 0)


@dataclass(frozen=True)
class JobSnapshot:
    job: Any  # DescribeJobResponse
    tasks: Mapping[str, TaskDetail]
    why_waiting: bool = False  # the tasks' waiting reasons were asked for

    @property
    def job_id(self) -> str:
        return str(self.job.JobId)

    @property
    def state(self) -> str:
        return str(self.job.JobState)

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL

    @property
    def succeeded(self) -> bool:
        return self.state == State.SUCCEED

    def task_names(self) -> list[str]:
        return [t.TaskName for t in self.job.TaskSet or []]

    def failed_instances(self) -> list[tuple[str, Any]]:
        return [(name, i) for name, task in self.tasks.items() for i in task.failed_instances]

    def waiting_tasks(self) -> list[tuple[str, TaskDetail]]:
        """Tasks with instances waiting, in task order."""
        return [(name, task) for name, task in self.tasks.items() if task.counts.waiting]

    def to_data(self) -> dict[str, Any]:
        """The JSON of ``--output json``: the DescribeJob answer, the failed instances (as listed) and,
        when that was asked, why the waiting tasks wait."""
        failed = [{"TaskName": name, **data(i)} for name, i in self.failed_instances()]
        document = {"Job": data(self.job), "FailedTaskInstances": failed}
        if self.why_waiting:
            document["WaitingTasks"] = [
                {"TaskName": name, "WaitingCount": task.counts.waiting, "StateReason": task.waiting_reason}
                for name, task in self.waiting_tasks()
            ]
        return document


def take(
    api: Api, job_id: str, previous: JobSnapshot | None = None, why_waiting: bool = False
) -> JobSnapshot:
    """The job now; tasks that were finished in ``previous`` and still are keep their earlier answer.

    ``why_waiting``: also ask, for each task with waiting instances, why they wait (one more
    DescribeTask per such task, which ``submit --wait`` does not spend on every poll)."""
    job = api.describe_job(job_id)
    known = previous.tasks if previous is not None else {}
    tasks = {view.TaskName: _task(api, job_id, view, known.get(view.TaskName)) for view in job.TaskSet or []}
    if why_waiting:
        tasks = {name: _explained(api, job_id, name, task) for name, task in tasks.items()}
    return JobSnapshot(job, tasks, why_waiting)


def _task(api: Api, job_id: str, view: Any, known: TaskDetail | None) -> TaskDetail:
    if known is not None and known.state in TERMINAL and known.state == view.TaskState:
        return known
    failed = [str(s) for s in sorted(FAILED_STATES)]
    return TaskDetail(api.describe_task(job_id, view.TaskName, failed, limit=FAILED_SHOWN))


def _explained(api: Api, job_id: str, name: str, task: TaskDetail) -> TaskDetail:
    if not task.counts.waiting:
        return task
    first = api.describe_task(job_id, name, _WAITING, limit=1).TaskInstanceSet or []
    return replace(task, waiting_reason=str(first[0].StateReason or "") if first else "")
