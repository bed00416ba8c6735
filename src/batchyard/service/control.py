"""TerminateJob, TerminateTaskInstance, RetryJobs, DeleteJob: the state rules, checked up front.

Terminations and retries are recorded as intents in the same transaction that checked the rules
and carried out by the scheduler within a tick; the API never touches a running process.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from batchyard.domain.errors import ApiError
from batchyard.domain.intents import Intent
from batchyard.domain.states import FAILED_STATES, State
from batchyard.service.context import Caller, Wake
from batchyard.service.jobs import find_job
from batchyard.service.tasks import find_task
from batchyard.store import control
from batchyard.store.database import Database

RETRY_JOB_IDS_MAX = 100
_FINISHED = (State.SUCCEED.value, State.FAILED.value)
_RETRYABLE = {s.value for s in FAILED_STATES}


class JobControl:
    def __init__(self, db: Database, runs_dir: Path, settle: Wake) -> None:
        self._db = db
        self._runs_dir = runs_dir
        self._settle = settle  # wakes the scheduler and returns once it has carried out the intent

    def terminate_job(self, caller: Caller, job_id: str) -> None:
        with self._db.write() as conn:
            job = find_job(conn, caller, job_id)
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
            for job in jobs:
                control.record_intent(conn, Intent.RETRY_JOB, job.pk, time.time())
        self._settle()

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
        shutil.rmtree(self._runs_dir / job_id, ignore_errors=True)
