"""SubmitJob: validate the whole request, then write the job and all its instances in one transaction."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from batchyard.config.settings import Settings
from batchyard.domain.dag import order_tasks
from batchyard.domain.dependencies import DEFAULT_DEPEND_ON
from batchyard.domain.errors import ApiError
from batchyard.domain.ids import ENV_ID, new_id
from batchyard.domain.states import State
from batchyard.schema.common import Job, Task
from batchyard.schema.jobs import SubmitJobRequest
from batchyard.service import limits
from batchyard.service.context import Caller, Wake
from batchyard.service.env_validation import placement_zone
from batchyard.service.fields import check_choice, check_client_token, check_tags
from batchyard.service.notification_validation import check_notifications
from batchyard.service.task_validation import check_task, task_name
from batchyard.store import envs
from batchyard.store.database import Database
from batchyard.store.quota import count_new_job
from batchyard.store.submissions import DuplicateJobId, NewJob, NewTask, find_by_client_token, insert_job

_ID_ATTEMPTS = 5


class JobSubmitter:
    def __init__(self, db: Database, settings: Settings, wake: Wake, sandboxed: bool = False) -> None:
        """``sandboxed``: attempts run in a sandbox, so mappings may use absolute local paths."""
        self._db = db
        self._sandboxed = sandboxed
        self._zones = settings.zones
        self._instance_types = settings.instance_types
        self._job_quota = settings.quotas.unfinished_jobs
        self._topics = frozenset(settings.notifications.topics)
        self._wake = wake

    def submit(self, caller: Caller, request: SubmitJobRequest) -> str:
        job, env_ids = self._validate(caller, request)
        for _ in range(_ID_ATTEMPTS):
            try:
                with self._db.write() as conn:
                    if request.ClientToken is not None:
                        earlier = find_by_client_token(conn, caller.account, request.ClientToken)
                        if earlier is not None:
                            return _replay(earlier, job.submit_info)
                    _check_envs_still_usable(conn, caller, env_ids)
                    if count_new_job(conn, caller.account, caller.region) > self._job_quota:
                        raise ApiError(  # rolls the count back with the transaction
                            "LimitExceeded.JobQuota",
                            f"At most {self._job_quota} unfinished jobs per account and region.",
                        )
                    insert_job(conn, job)
            except DuplicateJobId:
                job = _with_new_id(job)
                continue
            self._wake()
            return job.job_id
        raise ApiError("InternalError", "Could not allocate a job id; please retry.")

    def _validate(self, caller: Caller, request: SubmitJobRequest) -> tuple[NewJob, set[str]]:
        """The job to insert, and the named environments its tasks run in."""
        zone = placement_zone(self._zones, caller.region, request.Placement)
        spec = request.Job
        _check_job_fields(spec)
        subscriptions = check_notifications(spec.Notifications or [], self._topics)
        check_client_token(request.ClientToken)
        names = [task_name(task.TaskName, f"Job.Tasks.{i}.TaskName") for i, task in enumerate(spec.Tasks)]
        _check_unique(names)
        edges = sorted({(d.StartTask, d.EndTask) for d in spec.Dependences or []})
        order_tasks(names, edges)
        has_predecessor = {end for _, end in edges}
        _check_total_instances(spec.Tasks)
        named = self._named_envs(caller, spec.Tasks)
        env_types = {env_id: env.instance_type for env_id, env in named.items()}
        checked = [
            check_task(
                task,
                f"Job.Tasks.{i}",
                self._zones,
                caller.region,
                self._instance_types,
                env_types,
                self._sandboxed,
            )
            for i, task in enumerate(spec.Tasks)
        ]
        tasks = [
            NewTask(
                name=name,
                instance_num=num,
                spec=checked_spec,
                initial=State.PENDING if name in has_predecessor else State.RUNNABLE,
                env_pk=named[task.EnvId].pk if task.EnvId is not None else None,
            )
            for name, task, (num, checked_spec) in zip(names, spec.Tasks, checked, strict=True)
        ]
        used = {task.EnvId for task in spec.Tasks if task.EnvId is not None}
        return NewJob(
            job_id=new_id("job"),
            account=caller.account,
            region=caller.region,
            zone=zone,
            name=spec.JobName or "",
            description=spec.JobDescription or "",
            priority=spec.Priority or 0,
            depend_on=spec.TaskExecutionDependOn or DEFAULT_DEPEND_ON,
            tags=[{"Key": t.Key, "Value": t.Value} for t in spec.Tags or []],
            submit_info=_submit_info(request),
            client_token=request.ClientToken,
            create_time=time.time(),
            tasks=tasks,
            edges=edges,
            subscriptions=subscriptions,
        ), used

    def _named_envs(self, caller: Caller, tasks: list[Task]) -> dict[str, Any]:
        """The caller's usable environments among the well-formed ``EnvId`` of the tasks; ``task_spec``
        refuses the others in task order."""
        wanted = {t.EnvId for t in tasks if t.EnvId is not None and ENV_ID.fullmatch(t.EnvId)}
        if not wanted:
            return {}
        with self._db.read() as conn:
            return envs.usable_envs(conn, caller.account, caller.region, wanted)


def _check_envs_still_usable(conn: Connection, caller: Caller, env_ids: set[str]) -> None:
    """Checked again where the job is written: DeleteComputeEnv may have begun since validation."""
    gone = env_ids - set(envs.usable_envs(conn, caller.account, caller.region, env_ids))
    if gone:
        raise ApiError(
            "ResourceNotFound.ComputeEnv", f"The compute environment `{min(gone)}` does not exist."
        )


def _check_job_fields(job: Job) -> None:
    if job.JobName is not None and len(job.JobName) > limits.JOB_NAME_MAX:
        raise ApiError(
            "InvalidParameter.JobNameTooLong", f"JobName must be at most {limits.JOB_NAME_MAX} characters."
        )
    if job.JobDescription is not None and len(job.JobDescription) > limits.JOB_DESCRIPTION_MAX:
        raise ApiError(
            "InvalidParameter.JobDescriptionTooLong",
            f"JobDescription must be at most {limits.JOB_DESCRIPTION_MAX} characters.",
        )
    if job.Priority is not None and job.Priority > limits.PRIORITY_MAX:
        raise ApiError("InvalidParameterValue", f"Job.Priority must be 0..{limits.PRIORITY_MAX}.")
    if not job.Tasks or len(job.Tasks) > limits.TASKS_PER_JOB_MAX:
        raise ApiError("InvalidParameterValue", f"Job.Tasks must hold 1..{limits.TASKS_PER_JOB_MAX} tasks.")
    if job.TaskExecutionDependOn is not None and job.TaskExecutionDependOn not in limits.DEPEND_ON_VALUES:
        raise ApiError(
            "InvalidParameterValue",
            f"Job.TaskExecutionDependOn must be one of {', '.join(limits.DEPEND_ON_VALUES)}.",
        )
    check_choice(job.StateIfCreateCvmFailed, limits.STATES_IF_CREATE_CVM_FAILED, "Job.StateIfCreateCvmFailed")
    check_choice(job.NotificationTarget, limits.NOTIFICATION_TARGETS, "Job.NotificationTarget")
    check_tags(job.Tags or [], "Job.Tags")


def _check_total_instances(tasks: list[Task]) -> None:
    total = sum(task.TaskInstanceNum or 1 for task in tasks)
    if total > limits.JOB_INSTANCES_MAX:
        raise ApiError(
            "InvalidParameterValue.TaskInstanceNum",
            f"A job holds at most {limits.JOB_INSTANCES_MAX} task instances in all, not {total}.",
        )


def _check_unique(names: list[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ApiError("InvalidParameter.TaskName", f"`Job.Tasks.{i}.TaskName` `{name}` is used twice.")
        seen.add(name)


def _submit_info(request: SubmitJobRequest) -> dict[str, Any]:
    return {
        "Placement": request.Placement.model_dump(exclude_none=True),
        "Job": request.Job.model_dump(exclude_none=True),
    }


def _replay(earlier: Any, submit_info: dict[str, Any]) -> str:
    if earlier.submit_info != submit_info:
        raise ApiError(
            "InvalidParameterValue",
            f"ClientToken was already used for job {earlier.job_id} with a different request.",
        )
    return str(earlier.job_id)


def _with_new_id(job: NewJob) -> NewJob:
    return replace(job, job_id=new_id("job"))
