"""TerminateJob, TerminateTaskInstance, RetryJobs, DeleteJob: the state rules, checked up front.

Terminations and retries are recorded as intents in the same transaction that checked the rules
and carried out by the scheduler within a tick; the API never touches a running process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from batchyard.domain.errors import ApiError
from batchyard.domain.intents import Intent
from batchyard.domain.states import FAILED_STATES, State
from batchyard.service.context import Caller, Wake
from batchyard.service.jobs import find_job
from batchyard.service.tasks import find_task
from batchyard.store import control, envs
from batchyard.store.database import Database

RETRY_JOB_IDS_MAX = 100
_FINISHED = (State.SUCCEED.value, State.FAILED.value)
_RETRYABLE = {s.value for s in FAILED_STATES}


class JobControl:
    def __init__(
        self,
        db: Database,
        forget_job: Callable[[str], None],
        settle: Wake,
        refuse_terminate_with_env_id: bool = False,
    ) -> None:
        """``refuse_terminate_with_env_id``: refuse to terminate what runs in a named environment, as an
        older copy of the docs says Tencent does; otherwise the attempt is killed, the instance fails
        and its node goes back to its environment."""
        self._db = db
        self._forget_job = forget_job  # the executor drops what it kept for the job's attempts (logs)
        self._settle = settle  # wakes the scheduler and returns once it has carried out the intent
        self._refuse_with_env_id = refuse_terminate_with_env_id

    def terminate_job(self, caller: Caller, job_id: str) -> None:
        with self._db.write() as conn:
            job = find_job(conn, caller, job_id)
            self._refuse_if_in_named_env(bool(envs.job_env_pks(conn, job.pk)), f"The job `{job_id}`")
            if job.state == State.SUBMITTED.value:
                raise ApiError("UnsupportedOperation", "A job cannot be terminated before it is admitted.")
            if job.state in _FINISHED and not control.has_instances_in(
                conn, job.pk, [State.FAILED_INTERRUPTED]
            ):
                return  # nothing left to stop
            control.record_intent(conn, Intent.TERMINATE_JOB, job.pk, time.time())
        self._settle()

    def terminate_instance(self, caller: Caller, job_id: str, task_name: str, index: int) -> None:
        with self._db.write() as conn:
            job, task = find_task(conn, caller, job_id, task_name)
            self._refuse_if_in_named_env(task.env_pk is not None, f"The task `{task_name}`")
            if not 0 <= index < task.instance_num:
                raise ApiError(
                    "ResourceNotFound.TaskInstance", f"The task `{task_name}` has no instance {index}."
                )
            control.record_intent(conn, Intent.TERMINATE_INSTANCE, job.pk, time.time(), task.pk, index)
        self._settle()

    def retry_jobs(self, caller: Caller, job_ids: list[str]) -> None:
        if not 0 < len(job_ids) <= RETRY_JOB_IDS_MAX:
            raise ApiError("InvalidParameterValue.LimitExceeded", f"JobIds takes 1..{RETRY_JOB_IDS_MAX} ids.")
        with self._db.write() as conn:
            jobs = [find_job(conn, caller, job_id) for job_id in dict.fromkeys(job_ids)]
            for job in jobs:
                if job.state not in _RETRYABLE or control.has_pending_intent(conn, job.pk):
                    raise ApiError(
                        "UnsupportedOperation",
                        f"Only a failed job can be retried; `{job.job_id}` is {job.state}.",
                    )
                _check_envs_live(conn, job)
            for job in jobs:
                control.record_intent(conn, Intent.RETRY_JOB, job.pk, time.time())
        self._settle()

    def _refuse_if_in_named_env(self, in_named_env: bool, what: str) -> None:
        if self._refuse_with_env_id and in_named_env:
            raise ApiError(
                "UnsupportedOperation.TerminateOperationWithEnvId",
                f"{what} runs in a named compute environment, where this server is set to refuse "
                "terminations.",
            )

    def delete_job(self, caller: Caller, job_id: str) -> None:
        with self._db.write() as conn:
            job = find_job(conn, caller, job_id)
            busy = job.state not in _FINISHED or control.has_pending_intent(conn, job.pk)
            if busy or control.has_instances_in(conn, job.pk, [State.FAILED_INTERRUPTED]):
                raise ApiError(
                    "ResourceInUse.Job",
                    f"The job `{job_id}` is {job.state} and still holds instances; terminate it first.",
                )
            control.delete_job(conn, job.pk)
        self._forget_job(job_id)


def _check_envs_live(conn: Connection, job: Any) -> None:
    """A retried task runs in its environment again, so the environment must still take tasks."""
    env_pks = envs.job_env_pks(conn, job.pk)
    if env_pks - envs.live_env_pks(conn, env_pks):
        raise ApiError(
            "UnsupportedOperation",
            f"The job `{job.job_id}` runs in a compute environment that is deleted or being deleted; "
            "it cannot be retried.",
        )
