"""What the scheduler keeps in memory about tasks it is running: their specs, turned into launches."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from batchyard.domain.redirect import log_file_name
from batchyard.domain.task_spec import UNREADABLE, TaskSpec, stored_spec
from batchyard.executors.base import AttemptSpec, Redirect, Resources
from batchyard.store import scheduling

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskRuntime:
    task_pk: int
    job_pk: int
    job_id: str
    name: str
    instance_num: int
    spec: TaskSpec
    demand: Resources
    priority: int
    seq: int
    fault: str | None = None  # why this task's stored spec cannot be run; its instances then fail

    def rank(self, index: int) -> tuple[int, int, int, int]:
        """The dispatch order of one instance: priority desc, then submit order, task order, index."""
        return (-self.priority, self.job_pk, self.seq, index)

    def attempt(self, attempt_pk: int, index: int) -> AttemptSpec:
        return AttemptSpec(
            attempt_pk=attempt_pk,
            job_id=self.job_id,
            task_name=self.name,
            index=index,
            instance_num=self.instance_num,
            command=self.spec.command,
            env=self.spec.env,
            redirect=Redirect(
                stdout=self._redirect(self.spec.stdout_path, self.spec.stdout_name, "stdout", index),
                stderr=self._redirect(self.spec.stderr_path, self.spec.stderr_name, "stderr", index),
            ),
            demand=self.demand,
            rank=self.rank(index),
        )

    def _redirect(self, directory: str | None, template: str | None, stream: str, index: int) -> str | None:
        if not directory:
            return None
        return directory + log_file_name(template, stream, self.job_id, self.name, index)


class RuntimeCache:
    """Task specs by task, loaded once; a node larger than the executor is clamped to all of it."""

    def __init__(self, capacity: Resources) -> None:
        self._capacity = capacity
        self._by_task: dict[int, TaskRuntime] = {}

    def get(self, conn: Connection, task_pk: int) -> TaskRuntime:
        if task_pk not in self._by_task:
            self.load(conn, [task_pk])
        return self._by_task[task_pk]

    def load(self, conn: Connection, task_pks: Iterable[int]) -> None:
        """Read the tasks not held yet in one statement: most of a busy tick's candidates are new."""
        missing = [pk for pk in task_pks if pk not in self._by_task]
        if missing:
            for row in scheduling.task_runtime_rows(conn, missing):
                self._by_task[row.pk] = self._runtime(row)

    def forget(self, task_pk: int) -> None:
        self._by_task.pop(task_pk, None)

    def _runtime(self, row: Any) -> TaskRuntime:
        spec, fault = _spec(row)
        demand = Resources(min(spec.cpu, self._capacity.cpu), min(spec.memory_gib, self._capacity.memory_gib))
        return TaskRuntime(
            row.pk,
            row.job_pk,
            row.job_id,
            row.name,
            row.instance_num,
            spec,
            demand,
            row.priority,
            row.seq,
            fault,
        )


def _spec(row: Any) -> tuple[TaskSpec, str | None]:
    spec = stored_spec(row.spec)
    if spec is not None:
        return spec, None
    log.error("task %s of job %s has an unreadable spec; its instances fail", row.name, row.job_id)
    return UNREADABLE, "The task's stored definition cannot be read; it cannot run."
