"""What the scheduler remembers of jobs' and environments' notifications between ticks.

Read from the store once, then only the subscriptions added since (one indexed read per tick, which
finds nothing while nobody subscribes), so that a tick of jobs without notifications pays for them
no more than that: every other check is a look-up in these dicts, skipped when they are empty.

A job is forgotten one tick after it ends (its anonymous nodes are retired in the tick it ends, and
their events still count) and read again when RetryJobs starts it over; only a finished job can be
deleted, so a job number the store hands out again never finds an old job's watch. An environment
is forgotten when it is gone. A tick that fails forgets everything (``reset``): the next one reads
the store again, as the rest of the scheduler does.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from batchyard.store import subscriptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """A topic to tell an event to, and the variables to echo with it."""

    topic: str
    event_vars: list[dict[str, str]]


@dataclass
class Watch:
    """One job's or environment's subscriptions, and the names that open every Batch it sends."""

    region: str
    names: dict[str, Any]  # JobId and JobName, or EnvId and EnvName
    targets: dict[str, list[Target]]  # by event name
    task_pks: list[int] = field(default_factory=list)  # a job's tasks

    def wants(self, event: str) -> list[Target]:
        return self.targets.get(event, [])


class Watches:
    def __init__(self) -> None:
        self.jobs: dict[int, Watch] = {}
        self.tasks: dict[int, tuple[Watch, str]] = {}  # task_pk -> its job's watch, its name
        self.envs: dict[int, Watch] = {}
        self._last: int | None = None  # the newest subscription read; None: read them all
        self._ended: list[int] = []  # jobs that ended in the last tick, forgotten at the next

    def reset(self) -> None:
        self.jobs.clear()
        self.tasks.clear()
        self.envs.clear()
        self._last = None
        self._ended.clear()

    def refresh(self, conn: Connection) -> None:
        """At the start of a tick: forget the jobs that ended, learn the new subscriptions, and the
        environments' names as they are now (ModifyComputeEnv may rename them)."""
        for job_pk in self._ended:
            self._forget_job(job_pk)
        self._ended.clear()
        if self._last is None:
            self._last = subscriptions.last_pk(conn)
            rows = subscriptions.live(conn)
        else:
            rows = subscriptions.after(conn, self._last)
            if rows:
                self._last = rows[-1].pk
        if rows:
            self._add(conn, rows)
        if self.envs:
            self._rename_envs(conn)

    def ended(self, job_pk: int) -> None:
        if job_pk in self.jobs:
            self._ended.append(job_pk)

    def retried(self, conn: Connection, job_pk: int) -> None:
        """RetryJobs starts a finished job over: its subscriptions count again."""
        if job_pk in self._ended:
            self._ended.remove(job_pk)
        rows = subscriptions.of_jobs(conn, [job_pk])
        if rows:
            self._add(conn, rows)

    def env_gone(self, env_pk: int) -> None:
        self.envs.pop(env_pk, None)

    def _add(self, conn: Connection, rows: Iterable[Any]) -> None:
        by_job: dict[int, list[Any]] = defaultdict(list)
        by_env: dict[int, list[Any]] = defaultdict(list)
        for row in rows:
            if row.job_pk is not None:
                by_job[row.job_pk].append(row)
            elif row.env_pk is not None:
                by_env[row.env_pk].append(row)
        if by_job:
            self._add_jobs(conn, by_job)
        for env in subscriptions.env_rows(conn, by_env) if by_env else []:
            self.envs[env.pk] = Watch(env.region, _env_names(env), _targets(by_env[env.pk]))

    def _add_jobs(self, conn: Connection, by_job: dict[int, list[Any]]) -> None:
        for job in subscriptions.job_rows(conn, by_job):
            self._forget_job(job.pk)
            names = {"JobId": job.job_id, "JobName": job.name}
            self.jobs[job.pk] = Watch(job.region, names, _targets(by_job[job.pk]))
        for task in subscriptions.task_names(conn, by_job.keys() & self.jobs.keys()):
            watch = self.jobs[task.job_pk]
            watch.task_pks.append(task.pk)
            self.tasks[task.pk] = (watch, task.name)

    def _forget_job(self, job_pk: int) -> None:
        watch = self.jobs.pop(job_pk, None)
        for task_pk in watch.task_pks if watch is not None else []:
            self.tasks.pop(task_pk, None)

    def _rename_envs(self, conn: Connection) -> None:
        for env in subscriptions.env_rows(conn, self.envs):
            self.envs[env.pk].names = _env_names(env)


def _env_names(env: Any) -> dict[str, Any]:
    return {"EnvId": env.env_id, "EnvName": env.name}


def _targets(rows: Iterable[Any]) -> dict[str, list[Target]]:
    targets: dict[str, list[Target]] = defaultdict(list)
    for row in rows:
        targets[row.event].append(Target(row.topic, _event_vars(row)))
    return dict(targets)


def _event_vars(row: Any) -> list[dict[str, str]]:
    """A damaged row still notifies, without its variables: one bad row must not stop every tick."""
    try:
        found = json.loads(row.event_vars)
    except (TypeError, ValueError):
        found = None
    if isinstance(found, list) and all(isinstance(v, dict) for v in found):
        return found
    log.error("subscription %s holds unreadable EventVars; its events are sent without them", row.pk)
    return []
