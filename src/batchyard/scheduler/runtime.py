"""What the scheduler keeps in memory about tasks it is running: their specs, turned into launches."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from batchyard.domain.redirect import log_file_name
from batchyard.domain.task_spec import TaskSpec
from batchyard.executors.base import AttemptSpec, Redirect, Resources
from batchyard.store import scheduling


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
        runtime = self._by_task.get(task_pk)
        if runtime is None:
            runtime = self._load(conn, task_pk)
            self._by_task[task_pk] = runtime
        return runtime

    def forget(self, task_pk: int) -> None:
        self._by_task.pop(task_pk, None)

    def _load(self, conn: Connection, task_pk: int) -> TaskRuntime:
        row = scheduling.task_runtime_row(conn, task_pk)
        spec = TaskSpec.from_json(row.spec)
        demand = Resources(min(spec.cpu, self._capacity.cpu), min(spec.memory_gib, self._capacity.memory_gib))
        return TaskRuntime(
            row.pk, row.job_pk, row.job_id, row.name, row.instance_num, spec, demand, row.priority, row.seq
        )
