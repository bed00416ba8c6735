"""The real scheduler over a real SQLite store and the in-memory executor, on a clock the test moves.

Work is submitted through the service layer (``JobSubmitter``, ``JobControl``); compute environments
and the changes asked of them are written with the store functions the API's service uses
(``store/envs.py``). What nodes and commands do on their own is played with the ``MemoryExecutor``'s
controls. Nothing of ours is mocked.

The scheduler runs on the test's event loop and ticks in a worker thread, so a test waits for what
it expects (``until``), or for the scheduler to have nothing left to do (``quiet``), never for a
fixed time. Every wait also checks the invariant every test shares: a node runs one attempt at a
time, and while attempts are long (``ATTEMPT_S``) none waits queued on a busy node, so there are
never more active (STARTING or RUNNING) instances than nodes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from batchyard.config.settings import NotificationSinks, Settings
from batchyard.domain.attempts import AttemptSpec
from batchyard.domain.ids import new_id
from batchyard.domain.nodes import EnvChange
from batchyard.domain.resources import Resources
from batchyard.domain.states import State
from batchyard.executors.base import Host
from batchyard.executors.memory import AutoFinish, MemoryExecutor
from batchyard.scheduler.controller import Scheduler
from batchyard.schema.base import parse
from batchyard.schema.jobs import SubmitJobRequest
from batchyard.service.context import Caller
from batchyard.service.control import JobControl
from batchyard.service.submit import JobSubmitter
from batchyard.store import envs
from batchyard.store.database import Database
from batchyard.store.tables import attempts, env_activities, instances, jobs, nodes, tasks

ME = Caller("me", "ap-guangzhou")
ZONE = "ap-guangzhou-3"
SMALL = "S2.MEDIUM4"  # 2 CPU, 4 GiB
HUGE = "S5.4XLARGE64"  # 16 CPU, 64 GiB: bigger than every host here
HOST = Host("host-a", Resources(cpu=4, memory_gib=8))  # room for two SMALL nodes
WAIT_S = 3.0  # the longest a test waits for what it expects
# How long an attempt runs on the fake clock unless a test says otherwise: far longer than a tick, as
# real work is. The scheduler learns attempt durations (``Fleet.observe``) and queues attempts on busy
# nodes of pools whose attempts are shorter than its round trip; on a clock that never moved every
# attempt would look instantaneous.
ATTEMPT_S = 60.0
ACTIVE = (State.STARTING.value, State.RUNNING.value)


class FakeClock:
    """The scheduler's and the executor's time: it moves only when a test advances it."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class Env:
    pk: int
    env_id: str


def task(
    name: str = "t",
    instances: int = 1,
    instance_type: str = SMALL,
    env: Env | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A task as SubmitJob takes it: in a named environment if ``env`` is given, else an anonymous one."""
    spec: dict[str, Any] = {
        "TaskName": name,
        "TaskInstanceNum": instances,
        "Application": {"DeliveryForm": "LOCAL", "Command": "true"},
        **extra,
    }
    if env is None:
        spec["ComputeEnv"] = {"EnvType": "MANAGED", "EnvData": {"InstanceType": instance_type}}
    else:
        spec["EnvId"] = env.env_id
    return spec


class Rig:
    """A store, an executor and a scheduler with the services that feed it; restartable."""

    def __init__(
        self,
        tmp_path: Path,
        hosts: Sequence[Host] = (HOST,),
        topics: Sequence[str] = (),
        auto_finish: AutoFinish | None = None,
    ) -> None:
        """``topics``: notification topics SubmitJob accepts (nothing here delivers them);
        ``auto_finish``: the executor ends each attempt as it starts, with the exit code this returns."""
        self.db = Database(f"sqlite:///{tmp_path / 'store.db'}")
        self.db.migrate()
        self.clock = FakeClock()
        self.executor = MemoryExecutor(hosts, auto_finish, clock=self.clock)
        sinks = NotificationSinks(topics={topic: "http://127.0.0.1:9/" for topic in topics})
        self.settings = Settings(data_dir=tmp_path, notifications=sinks)
        self.catalog = {
            name: Resources(t.cpu, t.memory_gib, t.gpu) for name, t in self.settings.instance_types.items()
        }
        self.scheduler = self._build()
        self._stopped = False
        # A node runs one attempt at a time: never more active instances than nodes. Holds while
        # attempts are long (``ATTEMPT_S``); a test of queued short attempts turns the check off.
        self.one_attempt_per_node = True

    def _build(self) -> Scheduler:
        scheduler = Scheduler(self.db, self.executor, self.catalog, clock=self.clock)
        self.submitter = JobSubmitter(self.db, self.settings, scheduler.wake)
        self.control = JobControl(self.db, self.executor.forget_job, scheduler.settle_now)
        return scheduler

    # Lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the scheduler; after a ``stop``, a new one over the same store and executor."""
        if self._stopped:
            self.scheduler = self._build()
            self._stopped = False
        await self.scheduler.start()

    async def stop(self) -> None:
        self._stopped = True
        await self.scheduler.stop()

    async def restart(self, meanwhile: Callable[[], None] | None = None) -> None:
        """A new scheduler over the same store and the same executor object, as after a server restart:
        the executor's nodes and attempts outlive the scheduler that made them. ``meanwhile`` plays what
        happens on the nodes while no scheduler listens."""
        await self.stop()
        if meanwhile is not None:
            meanwhile()
        await self.start()

    def close(self) -> None:
        self.db.close()

    # What the API does ------------------------------------------------------------------------

    async def submit(self, *specs: dict[str, Any], **job: Any) -> str:
        """SubmitJob through the service layer (which wakes the scheduler); returns the JobId."""
        params = {"Placement": {"Zone": ZONE}, "Job": {"Tasks": list(specs), **job}}
        request = parse(SubmitJobRequest, params)
        return await asyncio.to_thread(self.submitter.submit, ME, request)

    async def create_env(
        self, desired: int, instance_type: str = SMALL, action_if_inactive: str = "RECREATE"
    ) -> Env:
        """A named environment, recorded as CreateComputeEnv records it, and carried out."""
        env = self.record_env(desired, instance_type, action_if_inactive)
        await self.settle()
        return env

    def record_env(
        self, desired: int, instance_type: str = SMALL, action_if_inactive: str = "RECREATE"
    ) -> Env:
        """CreateComputeEnv's rows (the environment and its RECONCILE), without waking the scheduler."""
        env_id = new_id("env")
        new = envs.NewEnv(
            env_id=env_id,
            account=ME.account,
            region=ME.region,
            zone=ZONE,
            name="pool",
            description="",
            env_type="MANAGED",
            instance_type=instance_type,
            desired=desired,
            action_if_inactive=action_if_inactive,
            tags=[],
            create_info={},
            client_token=None,
            create_time=time.time(),
        )
        cause = f"CreateComputeEnv: the capacity is {desired}"
        with self.db.write() as conn:
            pk = envs.insert_env(conn, new)
            envs.record_change(conn, pk, EnvChange.RECONCILE, cause, [], time.time())
        return Env(pk, env_id)

    async def resize_env(self, env: Env, desired: int) -> None:
        """ModifyComputeEnv's DesiredComputeNodeCount."""
        cause = f"ModifyComputeEnv: the capacity is {desired}"
        with self.db.write() as conn:
            envs.update_env(conn, env.pk, {"desired": desired})
            envs.record_change(conn, env.pk, EnvChange.RECONCILE, cause, [], time.time())
        await self.settle()

    async def terminate_nodes(self, env: Env, node_ids: Sequence[str]) -> None:
        """TerminateComputeNodes."""
        with self.db.write() as conn:
            envs.record_change(
                conn, env.pk, EnvChange.TERMINATE_NODES, "TerminateComputeNodes", node_ids, time.time()
            )
        await self.settle()

    async def terminate_instance(self, job_id: str, task_name: str, index: int) -> None:
        await asyncio.to_thread(self.control.terminate_instance, ME, job_id, task_name, index)

    async def retry_job(self, job_id: str) -> None:
        await asyncio.to_thread(self.control.retry_jobs, ME, [job_id])

    async def delete_job(self, job_id: str) -> None:
        await asyncio.to_thread(self.control.delete_job, ME, job_id)

    async def settle(self) -> None:
        """Wake the scheduler to look at recorded requests, and return once a tick has run."""
        await asyncio.to_thread(self.scheduler.settle_now)

    # What nodes and commands do on their own --------------------------------------------------

    def finish(self, spec: AttemptSpec, exit_code: int = 0, ran_for: float = ATTEMPT_S) -> None:
        """The attempt's command ends after running ``ran_for`` seconds of the fake clock."""
        self.clock.advance(ran_for)
        self.executor.finish(spec.attempt_pk, exit_code)

    def lose(self, node_id: str, after: float = ATTEMPT_S) -> None:
        """The node's host loses it ``after`` seconds from now."""
        self.clock.advance(after)
        self.executor.fail_node(node_id)

    # Waiting -----------------------------------------------------------------------------------

    async def until(self, predicate: Callable[[], Any], what: str) -> None:
        """Wait until ``predicate()`` holds, checking the node invariant all along."""
        deadline = time.monotonic() + WAIT_S
        while True:
            self.check_one_attempt_per_node()
            if predicate():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting until {what}")
            await asyncio.sleep(0.005)

    async def quiet(self) -> None:
        """Wait until the scheduler has nothing left to do: two rounds in a row change nothing.

        A round is a tick and the time for a start to be recorded (it may wait 20 ms to share a tick).
        """
        before = self._snapshot()
        unchanged = 0
        deadline = time.monotonic() + WAIT_S
        while unchanged < 2:
            await self.settle()
            await asyncio.sleep(0.03)
            self.check_one_attempt_per_node()
            now = self._snapshot()
            unchanged = unchanged + 1 if now == before else 0
            before = now
            if time.monotonic() > deadline:
                raise AssertionError("the scheduler never became quiet")

    def _snapshot(self) -> tuple[Any, ...]:
        with self.db.read() as conn:
            instance_rows = list(
                conn.execute(select(instances).order_by(instances.c.task_pk, instances.c.idx))
            )
            node_rows = list(conn.execute(select(nodes).order_by(nodes.c.pk)))
        return (
            tuple(map(tuple, instance_rows)),
            tuple(map(tuple, node_rows)),
            tuple(sorted(self.executor.nodes())),
            tuple(sorted(self.executor.running())),
        )

    def check_one_attempt_per_node(self) -> None:
        running = self.executor.running()
        on_nodes = [spec.node_id for spec in running.values()]
        assert len(on_nodes) == len(set(on_nodes)), f"a node runs two attempts: {on_nodes}"
        if not self.one_attempt_per_node:
            return
        with self.db.read() as conn:
            active = conn.scalar(
                select(func.count()).select_from(instances).where(instances.c.state.in_(ACTIVE))
            )
            node_count = conn.scalar(select(func.count()).select_from(nodes))
        assert (active or 0) <= (node_count or 0), f"{active} active instances on {node_count} nodes"

    # Reading what happened --------------------------------------------------------------------

    def instances(self, job_id: str, task_name: str = "t") -> list[Any]:
        """The task's instances in index order: state, attempts, reason, node_instance_id..."""
        query = (
            select(instances)
            .join(tasks, tasks.c.pk == instances.c.task_pk)
            .join(jobs, jobs.c.pk == tasks.c.job_pk)
            .where(jobs.c.job_id == job_id, tasks.c.name == task_name)
            .order_by(instances.c.idx)
        )
        with self.db.read() as conn:
            return list(conn.execute(query))

    def states(self, job_id: str, task_name: str = "t") -> list[str]:
        return [row.state for row in self.instances(job_id, task_name)]

    def attempts(self, job_id: str, task_name: str = "t") -> list[Any]:
        """Every attempt of the task, oldest first."""
        query = (
            select(attempts)
            .join(tasks, tasks.c.pk == attempts.c.task_pk)
            .join(jobs, jobs.c.pk == tasks.c.job_pk)
            .where(jobs.c.job_id == job_id, tasks.c.name == task_name)
            .order_by(attempts.c.pk)
        )
        with self.db.read() as conn:
            return list(conn.execute(query))

    def job_state(self, job_id: str) -> str:
        with self.db.read() as conn:
            return str(conn.scalar(select(jobs.c.state).where(jobs.c.job_id == job_id)))

    def nodes(self, env: Env | None = None) -> list[Any]:
        """Node rows, oldest first: all of them, or one environment's."""
        query = select(nodes).order_by(nodes.c.pk)
        if env is not None:
            query = query.where(nodes.c.env_pk == env.pk)
        with self.db.read() as conn:
            return list(conn.execute(query))

    def activities(self, env: Env) -> list[Any]:
        query = select(env_activities).where(env_activities.c.env_pk == env.pk).order_by(env_activities.c.pk)
        with self.db.read() as conn:
            return list(conn.execute(query))

    def running(self, job_id: str, task_name: str = "t") -> list[AttemptSpec]:
        """The task's attempts the executor runs now, in index order (``AttemptSpec``)."""
        found = [
            s for s in self.executor.running().values() if (s.job_id, s.task_name) == (job_id, task_name)
        ]
        return sorted(found, key=lambda spec: spec.index)


@asynccontextmanager
async def started(
    tmp_path: Path, hosts: Sequence[Host] = (HOST,), topics: Sequence[str] = ()
) -> AsyncIterator[Rig]:
    """A started rig, stopped and closed afterwards whatever the test did."""
    rig = Rig(tmp_path, hosts, topics)
    await rig.start()
    try:
        yield rig
    finally:
        await rig.stop()
        rig.close()
