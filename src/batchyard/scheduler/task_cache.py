"""The task specs the scheduler keeps in memory while a task has work: read once, turned into launches."""

from __future__ import annotations

import functools
import logging
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from batchyard.domain.attempts import AttemptSpec, DataPlan, Redirect
from batchyard.domain.redirect import log_file_name
from batchyard.domain.resources import Resources
from batchyard.domain.task_spec import UNREADABLE, TaskSpec, stored_spec
from batchyard.store import scheduling

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CachedTask:
    task_pk: int
    job_pk: int
    job_id: str
    name: str
    instance_num: int
    spec: TaskSpec
    demand: Resources
    env_pk: int | None  # None: an anonymous environment, nodes made for this task
    # Job.StateIfCreateCvmFailed: what a node that cannot be made means for the instances (FAILED or
    # RUNNABLE, i.e. keep waiting).
    if_node_fails: str
    fault: str | None = None  # why this task's stored spec cannot be run; its instances then fail
    priority: int = 0  # the job's: a waiting reason names a job of higher priority ahead
    env_id: str | None = None  # the named environment's id, for waiting reasons

    @functools.cached_property
    def data(self) -> DataPlan:
        return DataPlan(self.spec.inputs, self.spec.outputs, self.spec.package)

    def attempt(self, attempt_pk: int, index: int, node_id: str) -> AttemptSpec:
        spec = self.spec
        return AttemptSpec(
            attempt_pk=attempt_pk,
            node_id=node_id,
            job_id=self.job_id,
            task_name=self.name,
            index=index,
            instance_num=self.instance_num,
            command=spec.command,
            env=spec.env,
            redirect=Redirect(
                stdout=self._redirect(spec.stdout_path, spec.stdout_name, "stdout", index),
                stderr=self._redirect(spec.stderr_path, spec.stderr_name, "stderr", index),
                stdout_local=self._local(spec.stdout_local_path, spec.stdout_local_name, "stdout", index),
                stderr_local=self._local(spec.stderr_local_path, spec.stderr_local_name, "stderr", index),
            ),
            data=self.data,
        )

    def _redirect(self, directory: str | None, template: str | None, stream: str, index: int) -> str | None:
        if not directory:
            return None
        return directory + log_file_name(template, stream, self.job_id, self.name, index)

    def _local(self, folder: str | None, template: str | None, stream: str, index: int) -> str | None:
        if not folder:
            return None
        return posixpath.join(folder, log_file_name(template, stream, self.job_id, self.name, index))


class TaskCache:
    """Task specs by task, loaded once per task and forgotten when the task ends."""

    def __init__(self) -> None:
        self._by_task: dict[int, CachedTask] = {}

    def get(self, conn: Connection, task_pk: int) -> CachedTask:
        if task_pk not in self._by_task:
            self.load(conn, [task_pk])
        return self._by_task[task_pk]

    def load(self, conn: Connection, task_pks: Iterable[int]) -> None:
        """Read the tasks not held yet in one statement: most of a busy tick's candidates are new."""
        missing = [pk for pk in task_pks if pk not in self._by_task]
        if missing:
            for row in scheduling.task_runtime_rows(conn, missing):
                self._by_task[row.pk] = _runtime(row)

    def forget(self, task_pk: int) -> CachedTask | None:
        return self._by_task.pop(task_pk, None)


def _runtime(row: Any) -> CachedTask:
    spec, fault = _spec(row)
    return CachedTask(
        row.pk,
        row.job_pk,
        row.job_id,
        row.name,
        row.instance_num,
        spec,
        Resources(spec.cpu, spec.memory_gib, spec.gpu),
        row.env_pk,
        row.if_node_fails or "FAILED",
        fault,
        priority=row.priority,
        env_id=row.env_id,
    )


def _spec(row: Any) -> tuple[TaskSpec, str | None]:
    spec = stored_spec(row.spec)
    if spec is not None:
        return spec, None
    log.error("task %s of job %s has an unreadable spec; its instances fail", row.name, row.job_id)
    return UNREADABLE, "The task's stored definition cannot be read; it cannot run."
