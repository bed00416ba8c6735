"""Writing a new job: the job, its tasks, its edges and every instance, in the caller's transaction.

Every submit holds the write lock while these run, so the statements are built once: building one
cost SQLAlchemy more than SQLite's work for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from batchyard.domain.notifications import Subscription
from batchyard.domain.states import State
from batchyard.domain.task_spec import TaskSpec
from batchyard.store.subscriptions import subscribe
from batchyard.store.tables import COUNTER, dependences, instances, job_tags, jobs, tasks

_INSTANCE_CHUNK = 20_000
_INSERT_JOB = insert(jobs).returning(jobs.c.pk)
_INSERT_TASKS = insert(tasks).returning(tasks.c.pk, sort_by_parameter_order=True)
_INSERT_INSTANCES = insert(instances)
_BY_CLIENT_TOKEN = select(jobs.c.job_id, jobs.c.submit_info).where(
    jobs.c.account == bindparam("account"), jobs.c.client_token == bindparam("token")
)


@dataclass(frozen=True)
class NewTask:
    name: str
    instance_num: int
    spec: TaskSpec
    initial: State  # RUNNABLE for tasks without predecessors, PENDING otherwise
    env_pk: int | None = None  # the named environment it runs in; None for an anonymous one


@dataclass(frozen=True)
class NewJob:
    job_id: str
    account: str
    region: str
    zone: str
    name: str
    description: str
    priority: int
    depend_on: str
    tags: list[dict[str, str]]
    submit_info: dict[str, Any]
    client_token: str | None
    create_time: float
    tasks: Sequence[NewTask]
    edges: Sequence[tuple[str, str]]
    subscriptions: Sequence[Subscription] = ()  # its Notifications, one per event and topic


class DuplicateJobId(Exception):
    """The random job id collided with an existing one; the caller lets its transaction roll back
    and draws another."""


def insert_job(conn: Connection, job: NewJob) -> int:
    job_pk = _insert_job_row(conn, job)
    if job.tags:
        conn.execute(
            insert(job_tags), [{"job_pk": job_pk, "key": t["Key"], "value": t["Value"]} for t in job.tags]
        )
    task_pks = _insert_tasks(conn, job_pk, job)
    if job.edges:
        conn.execute(
            insert(dependences),
            [
                {"job_pk": job_pk, "start_task_pk": task_pks[a], "end_task_pk": task_pks[b]}
                for a, b in job.edges
            ],
        )
    for task in job.tasks:
        _insert_instances(conn, task_pks[task.name], task, job.create_time)
    subscribe(conn, job.subscriptions, job_pk=job_pk)
    return job_pk


def find_by_client_token(conn: Connection, account: str, token: str) -> Any:
    return conn.execute(_BY_CLIENT_TOKEN, {"account": account, "token": token}).one_or_none()


def _insert_job_row(conn: Connection, job: NewJob) -> int:
    values = {
        "job_id": job.job_id,
        "account": job.account,
        "region": job.region,
        "zone": job.zone,
        "name": job.name,
        "description": job.description,
        "priority": job.priority,
        "state": _job_initial_state(job).value,
        "state_reason": "",
        "depend_on": job.depend_on,
        "tags": job.tags,
        "submit_info": job.submit_info,
        "client_token": job.client_token,
        "create_time": job.create_time,
    }
    try:
        return int(conn.execute(_INSERT_JOB, values).scalar_one())
    except IntegrityError as exc:  # no savepoint needed: the caller's transaction is rolled back
        raise DuplicateJobId(job.job_id) from exc


def _job_initial_state(job: NewJob) -> State:
    return State.RUNNABLE if any(t.initial is State.RUNNABLE for t in job.tasks) else State.PENDING


def _insert_tasks(conn: Connection, job_pk: int, job: NewJob) -> dict[str, int]:
    rows = [
        {
            "job_pk": job_pk,
            "name": t.name,
            "seq": seq,
            "state": t.initial.value,
            "instance_num": t.instance_num,
            "spec": t.spec.to_json(),
            "create_time": job.create_time,
            "env_pk": t.env_pk,
            **{col: (t.instance_num if state is t.initial else 0) for state, col in COUNTER.items()},
        }
        for seq, t in enumerate(job.tasks)
    ]
    result = conn.execute(_INSERT_TASKS, rows)
    return {t.name: row.pk for t, row in zip(job.tasks, result, strict=True)}


def _insert_instances(conn: Connection, task_pk: int, task: NewTask, create_time: float) -> None:
    state = task.initial.value
    runnable_time = create_time if task.initial is State.RUNNABLE else None
    for start in range(0, task.instance_num, _INSTANCE_CHUNK):
        stop = min(start + _INSTANCE_CHUNK, task.instance_num)
        conn.execute(
            _INSERT_INSTANCES,
            [
                {
                    "task_pk": task_pk,
                    "idx": idx,
                    "state": state,
                    "attempts": 0,
                    "reason": "",
                    "runnable_time": runnable_time,
                }
                for idx in range(start, stop)
            ],
        )
