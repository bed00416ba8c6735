"""The scheduler's dispatch, node lifecycle and ledger, driven through the real ``Scheduler``.

A real SQLite store, the in-memory executor and a fake clock (see ``scheduling_harness``). The default
host holds two SMALL nodes, so "the host is full" is two busy nodes. Attempts run for a minute of the
fake clock unless a test says otherwise (``Rig.finish``): long attempts get one node each, while the
scheduler queues short ones on busy nodes (the last section). Timeouts are deadlines on the fake
clock: a test moves the clock past one and wakes the scheduler with its public ``wake()``, since the
loop's own sleep is a real timer computed from the clock.

The tests that fail at the time of writing name scheduler or executor bugs; each docstring says what
must hold.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from scheduling_harness import HUGE, Env, Rig, started, task
from sqlalchemy import select, update

from batchyard.domain.nodes import ActivityState, ActivityType, NodeState
from batchyard.domain.resources import Resources
from batchyard.domain.states import State
from batchyard.executors.base import Host
from batchyard.executors.memory import ATTEMPT_LOST
from batchyard.store.tables import jobs, tasks

pytestmark = pytest.mark.anyio

ROOMY = Host("host-a", Resources(cpu=8, memory_gib=16))  # room for four SMALL nodes


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with started(tmp_path) as rig:
        yield rig


@pytest.fixture
async def roomy(tmp_path: Path) -> AsyncIterator[Rig]:
    async with started(tmp_path, (ROOMY,)) as rig:
        yield rig


def node_ids(rig: Rig, env: Env | None = None) -> set[str]:
    return {row.node_id for row in rig.nodes(env)}


def instance_ids(rig: Rig, env: Env) -> set[str]:
    return {row.instance_id for row in rig.nodes(env)}


# Anonymous environments --------------------------------------------------------------------------


async def test_anonymous_task_gets_nodes_only_while_the_host_has_room(rig: Rig) -> None:
    """Three SMALL instances on a host for two: two nodes, two attempts, the third waits RUNNABLE."""
    job = await rig.submit(task(instances=3))
    await rig.until(lambda: len(rig.running(job)) == 2, "two attempts run")
    await rig.quiet()
    assert rig.states(job) == ["RUNNING", "RUNNING", "RUNNABLE"]
    assert len(rig.executor.nodes()) == 2
    assert node_ids(rig) == set(rig.executor.nodes())
    assert all(row.env_pk is None and row.state == NodeState.RUNNING for row in rig.nodes())


async def test_a_node_is_reused_by_the_next_instance_of_its_task(rig: Rig) -> None:
    job = await rig.submit(task(instances=3))
    await rig.until(lambda: len(rig.running(job)) == 2, "two attempts run")
    made = set(rig.executor.nodes())
    first = rig.running(job)[0]
    rig.finish(first)
    await rig.until(lambda: rig.states(job)[2] == State.RUNNING, "the third instance runs")
    third = rig.running(job)[-1]
    assert third.node_id == first.node_id
    assert set(rig.executor.nodes()) == made
    assert rig.instances(job)[2].node_instance_id == rig.instances(job)[0].node_instance_id


async def test_idle_anonymous_nodes_are_retired(rig: Rig) -> None:
    """A node with no instance of its task left to run goes at once, not when the job ends."""
    job = await rig.submit(task(instances=3))
    await rig.until(lambda: len(rig.running(job)) == 2, "two attempts run")
    for spec in rig.running(job):
        rig.finish(spec)
    await rig.until(lambda: len(rig.running(job)) == 1, "the third instance runs")
    await rig.until(lambda: len(rig.executor.nodes()) == 1, "the node left without work is retired")
    rig.finish(rig.running(job)[0])
    await rig.until(lambda: rig.job_state(job) == State.SUCCEED, "the job succeeds")
    await rig.until(lambda: not rig.executor.nodes(), "every node is retired")
    await rig.quiet()
    assert rig.nodes() == []


async def test_an_instance_type_bigger_than_every_host_fails_its_instances_by_default(rig: Rig) -> None:
    job = await rig.submit(task(instances=2, instance_type=HUGE))
    await rig.until(lambda: rig.job_state(job) == State.FAILED, "the job fails")
    reason = "No host can hold a node of instance type S5.4XLARGE64 (16 CPU, 64 GiB)."
    assert [(row.state, row.reason) for row in rig.instances(job)] == [("FAILED", reason)] * 2
    assert rig.nodes() == [] and rig.executor.nodes() == {}


async def test_an_instance_type_bigger_than_every_host_waits_under_state_if_create_cvm_failed_runnable(
    rig: Rig,
) -> None:
    job = await rig.submit(task(instances=2, instance_type=HUGE), StateIfCreateCvmFailed="RUNNABLE")
    await rig.until(lambda: "No host can hold" in rig.instances(job)[0].reason, "the wait is explained")
    await rig.quiet()
    assert rig.states(job) == ["RUNNABLE", "RUNNABLE"]
    assert rig.job_state(job) == State.RUNNABLE
    assert rig.nodes() == [] and rig.executor.nodes() == {}


@pytest.mark.parametrize("if_node_fails", ["FAILED", "RUNNABLE"])
async def test_an_unplaceable_task_does_not_block_a_smaller_one_behind_it(
    rig: Rig, if_node_fails: str
) -> None:
    huge = await rig.submit(task(instance_type=HUGE), Priority=9, StateIfCreateCvmFailed=if_node_fails)
    small = await rig.submit(task(instances=2), Priority=0)
    await rig.until(lambda: len(rig.running(small)) == 2, "the smaller task's instances run")
    assert rig.states(huge) == [if_node_fails]


async def test_a_higher_priority_job_gets_the_next_room_before_an_earlier_lower_one(rig: Rig) -> None:
    filler = await rig.submit(task(instances=2))
    await rig.until(lambda: len(rig.running(filler)) == 2, "the host is full")
    low = await rig.submit(task(), Priority=1)
    high = await rig.submit(task(), Priority=5)
    await rig.quiet()
    assert (rig.states(low), rig.states(high)) == (["RUNNABLE"], ["RUNNABLE"])

    rig.finish(rig.running(filler)[0])
    await rig.until(lambda: len(rig.running(high)) == 1, "the high-priority instance runs")
    await rig.quiet()
    assert rig.states(low) == ["RUNNABLE"]

    rig.finish(rig.running(filler)[0])
    await rig.until(lambda: len(rig.running(low)) == 1, "the low-priority instance runs next")


# Named environments ------------------------------------------------------------------------------


async def test_reconcile_makes_the_desired_nodes_and_records_why(rig: Rig) -> None:
    env = await rig.create_env(2)
    await rig.until(
        lambda: [row.state for row in rig.nodes(env)] == [NodeState.CREATED] * 2, "two nodes are ready"
    )
    assert node_ids(rig, env) == set(rig.executor.nodes())
    activities = rig.activities(env)
    assert [(a.kind, a.cause, a.state) for a in activities] == [
        (ActivityType.CREATE, "CreateComputeEnv: the capacity is 2", ActivityState.SUCCEED)
    ] * 2
    assert {a.node_id for a in activities} == node_ids(rig, env)
    assert all(a.end_time is not None for a in activities)


async def test_a_task_in_a_named_env_runs_only_on_its_nodes_as_many_at_once_as_there_are(rig: Rig) -> None:
    env = await rig.create_env(2)
    job = await rig.submit(task(instances=3, env=env))
    await rig.until(lambda: len(rig.running(job)) == 2, "two attempts run")
    await rig.quiet()
    assert rig.states(job) == ["RUNNING", "RUNNING", "RUNNABLE"]

    rig.finish(rig.running(job)[0])
    await rig.until(lambda: rig.states(job)[2] == State.RUNNING, "the third runs on the freed node")
    assert len(rig.nodes(env)) == 2
    assert {a.node_instance_id for a in rig.attempts(job)} <= instance_ids(rig, env)
    assert {spec.node_id for spec in rig.running(job)} <= node_ids(rig, env)


async def test_scaling_down_retires_an_idle_node_before_a_busy_one(rig: Rig) -> None:
    env = await rig.create_env(2)
    job = await rig.submit(task(env=env))
    await rig.until(lambda: len(rig.running(job)) == 1, "the attempt runs")
    busy = rig.running(job)[0].node_id

    await rig.resize_env(env, 1)
    await rig.until(lambda: len(rig.nodes(env)) == 1, "one node is left")
    assert [(row.node_id, row.state) for row in rig.nodes(env)] == [(busy, NodeState.RUNNING)]
    assert set(rig.executor.nodes()) == {busy}
    assert rig.states(job) == ["RUNNING"]
    terminated = [a for a in rig.activities(env) if a.kind == ActivityType.TERMINATE]
    assert [(a.cause, a.state) for a in terminated] == [
        ("ModifyComputeEnv: the capacity is 1", ActivityState.SUCCEED)
    ]
    assert terminated[0].node_id != busy


async def test_a_busy_node_retired_on_scale_down_finishes_its_attempt_first(rig: Rig) -> None:
    env = await rig.create_env(2)
    job = await rig.submit(task(instances=3, env=env))
    await rig.until(lambda: len(rig.running(job)) == 2, "both nodes are busy")

    await rig.resize_env(env, 1)
    await rig.until(
        lambda: sorted(row.state for row in rig.nodes(env)) == [NodeState.DELETING, NodeState.RUNNING],
        "one node is being retired",
    )
    deleting = next(row.node_id for row in rig.nodes(env) if row.state == NodeState.DELETING)
    await rig.quiet()
    assert len(rig.running(job)) == 2  # its attempt was not killed
    assert rig.states(job)[2] == State.RUNNABLE  # and the node takes no new one

    spec = next(s for s in rig.running(job) if s.node_id == deleting)
    rig.finish(spec)
    await rig.until(lambda: deleting not in rig.executor.nodes(), "the node goes once its attempt ends")
    await rig.quiet()
    assert len(rig.nodes(env)) == 1 and deleting not in node_ids(rig, env)
    assert rig.states(job)[spec.index] == State.SUCCEED
    assert rig.states(job)[2] == State.RUNNABLE  # the other node is still busy


async def test_terminating_a_busy_node_retries_its_instance_as_a_system_fault_on_a_replacement(
    rig: Rig,
) -> None:
    """The attempt is cancelled; the instance is retried even with MaxRetryCount 0, since the kill was
    the system's doing, and the environment makes a node to replace the terminated one."""
    env = await rig.create_env(1)
    job = await rig.submit(task(env=env, MaxRetryCount=0))
    await rig.until(lambda: len(rig.running(job)) == 1, "the attempt runs")
    victim = rig.running(job)[0].node_id

    await rig.terminate_nodes(env, [victim])
    await rig.until(lambda: len(rig.running(job)) == 1 and rig.instances(job)[0].attempts == 2, "retried")
    replacement = rig.running(job)[0].node_id
    assert replacement != victim
    assert node_ids(rig, env) == {replacement} == set(rig.executor.nodes())
    first, second = rig.attempts(job)
    assert first.state == State.FAILED and f"The compute node {victim} was terminated" in first.reason
    assert second.node_instance_id in instance_ids(rig, env)
    kinds = [(a.node_id, a.kind, a.cause) for a in rig.activities(env)]
    assert (victim, ActivityType.TERMINATE, "TerminateComputeNodes") in kinds
    assert (
        replacement,
        ActivityType.CREATE,
        "TerminateComputeNodes: replace the terminated compute nodes",
    ) in kinds


async def test_a_full_env_does_not_block_another_env(rig: Rig) -> None:
    env_a = await rig.create_env(1)
    env_b = await rig.create_env(1)
    busy = await rig.submit(task(instances=2, env=env_a), Priority=9)
    await rig.until(lambda: len(rig.running(busy)) == 1, "env A is full")
    other = await rig.submit(task(env=env_b), Priority=0)
    await rig.until(lambda: len(rig.running(other)) == 1, "env B's task runs")
    assert rig.states(busy) == ["RUNNING", "RUNNABLE"]
    assert rig.running(other)[0].node_id in node_ids(rig, env_b)


def wait_reason(rig: Rig, job_id: str, task_name: str = "t") -> str | None:
    with rig.db.read() as conn:
        reason: str | None = conn.scalar(
            select(tasks.c.wait_reason)
            .join(jobs, jobs.c.pk == tasks.c.job_pk)
            .where(jobs.c.job_id == job_id, tasks.c.name == task_name)
        )
    return reason


async def test_reasons_behind_a_blocked_task_follow_the_queue_within_a_second(rig: Rig) -> None:
    """Tasks behind the first that finds no node are explained at once when one joins the queue, and
    else at most once a second of the scheduler's clock while the queue drains: one write per task per
    second, not per tick."""
    env = await rig.create_env(1)
    first = await rig.submit(task(instances=3, env=env))
    await rig.until(lambda: len(rig.running(first)) == 1, "one runs")
    await rig.submit(task(env=env))
    third = await rig.submit(task(env=env))
    ahead = f"no free compute node in {env.env_id} (1 of 1 busy, {{}} instances queued ahead of this task)"
    await rig.until(lambda: wait_reason(rig, third) == ahead.format(3), "the newcomer is told")

    rig.finish(rig.running(first)[0], ran_for=0.1)
    await rig.until(lambda: rig.states(first)[1] == "RUNNING", "the next instance runs")
    await rig.quiet()
    assert wait_reason(rig, third) == ahead.format(3), "not yet a second later"
    rig.clock.advance(1.0)
    await rig.settle()
    await rig.until(lambda: wait_reason(rig, third) == ahead.format(2), "due: said again")


async def test_a_restarted_scheduler_explains_the_queues_again(rig: Rig) -> None:
    env = await rig.create_env(1)
    first = await rig.submit(task(instances=2, env=env))
    second = await rig.submit(task(env=env))
    ahead = f"no free compute node in {env.env_id} (1 of 1 busy, 1 instance queued ahead of this task)"
    await rig.until(lambda: wait_reason(rig, second) == ahead, "explained")
    with rig.db.write() as conn:  # as after an upgrade: nothing said yet
        conn.execute(update(tasks).values(wait_reason=None))

    await rig.restart()
    await rig.until(lambda: wait_reason(rig, second) == ahead, "explained again")
    assert wait_reason(rig, first) == ahead.replace("1 instance", "0 instances")


async def test_a_lost_node_in_a_named_env_is_replaced_and_its_attempt_retried(rig: Rig) -> None:
    """ActionIfComputeNodeInactive RECREATE; the lost attempt is the system's fault, so it is retried even
    with MaxRetryCount 0."""
    env = await rig.create_env(1)
    job = await rig.submit(task(env=env, MaxRetryCount=0))
    await rig.until(lambda: len(rig.running(job)) == 1, "the attempt runs")
    lost = rig.running(job)[0].node_id

    rig.lose(lost)
    await rig.until(lambda: len(rig.running(job)) == 1 and rig.instances(job)[0].attempts == 2, "retried")
    assert rig.running(job)[0].node_id != lost
    assert lost not in node_ids(rig) and len(rig.nodes(env)) == 1
    assert (rig.attempts(job)[0].state, rig.attempts(job)[0].reason) == (State.FAILED, ATTEMPT_LOST)
    causes = {(a.node_id, a.kind): a.cause for a in rig.activities(env)}
    assert causes[(lost, ActivityType.TERMINATE)].startswith("The compute node was lost")
    replacement = rig.running(job)[0].node_id
    assert causes[(replacement, ActivityType.CREATE)] == "Replace a lost compute node"


async def test_a_lost_anonymous_node_is_replaced_and_its_attempt_retried(rig: Rig) -> None:
    job = await rig.submit(task(MaxRetryCount=0))
    await rig.until(lambda: len(rig.running(job)) == 1, "the attempt runs")
    lost = rig.running(job)[0].node_id

    rig.lose(lost)
    await rig.until(lambda: len(rig.running(job)) == 1 and rig.instances(job)[0].attempts == 2, "retried")
    assert rig.running(job)[0].node_id != lost
    assert lost not in node_ids(rig)


# Timeouts on the fake clock ----------------------------------------------------------------------


async def test_a_timeout_kills_the_attempt_and_retries_it_within_max_retry_count(rig: Rig) -> None:
    job = await rig.submit(task(Timeout=10, MaxRetryCount=1))
    await rig.until(lambda: rig.states(job) == ["RUNNING"], "the attempt runs")

    rig.clock.advance(9)
    rig.scheduler.wake()
    await rig.quiet()
    assert rig.instances(job)[0].attempts == 1 and len(rig.running(job)) == 1  # not due yet

    rig.clock.advance(2)
    rig.scheduler.wake()
    await rig.until(lambda: rig.instances(job)[0].attempts == 2 and rig.states(job) == ["RUNNING"], "retried")
    assert "timed out after 10 s" in rig.attempts(job)[0].reason

    rig.clock.advance(11)
    rig.scheduler.wake()
    await rig.until(lambda: rig.job_state(job) == State.FAILED, "the retry times out too and the job fails")
    assert rig.instances(job)[0].attempts == 2
    assert "timed out after 10 s" in rig.instances(job)[0].reason
    assert rig.running(job) == []


# Restart -----------------------------------------------------------------------------------------


async def test_restart_keeps_the_nodes_and_their_running_attempts(roomy: Rig) -> None:
    """Nodes of a named environment (one busy, one idle) and a busy anonymous node."""
    rig = roomy
    env = await rig.create_env(2)
    job = await rig.submit(task(env=env))
    anonymous = await rig.submit(task())
    await rig.until(lambda: len(rig.running(job)) == len(rig.running(anonymous)) == 1, "both run")
    before = node_ids(rig)

    await rig.restart()
    await rig.quiet()
    assert node_ids(rig) == before == set(rig.executor.nodes())
    assert rig.states(job) == rig.states(anonymous) == ["RUNNING"]

    for spec in [*rig.running(job), *rig.running(anonymous)]:
        rig.finish(spec)
    await rig.until(lambda: rig.job_state(job) == rig.job_state(anonymous) == State.SUCCEED, "both succeed")
    await rig.quiet()
    for job_id in (job, anonymous):
        assert [(a.state, a.number) for a in rig.attempts(job_id)] == [(State.SUCCEED, 1)]
        assert rig.instances(job_id)[0].attempts == 1
    assert node_ids(rig) == node_ids(rig, env) and len(node_ids(rig, env)) == 2


async def test_an_attempt_that_ends_while_the_scheduler_is_down_is_recorded_once(rig: Rig) -> None:
    job = await rig.submit(task(instances=2))
    await rig.until(lambda: len(rig.running(job)) == 2, "both run")
    first, second = rig.running(job)

    await rig.restart(meanwhile=lambda: rig.finish(first))
    await rig.until(lambda: rig.states(job) == ["SUCCEED", "RUNNING"], "the outcome is recorded")
    rig.finish(second, exit_code=3)
    await rig.until(lambda: rig.job_state(job) == State.FAILED, "the job ends")
    await rig.quiet()
    assert [(a.idx, a.state, a.exit_code) for a in rig.attempts(job)] == [
        (0, State.SUCCEED, 0),
        (1, State.FAILED, 3),
    ]


async def test_a_timeout_still_applies_after_a_restart(rig: Rig) -> None:
    """The deadline is rebuilt from the attempt's recorded start, not restarted."""
    job = await rig.submit(task(Timeout=10))
    await rig.until(lambda: rig.states(job) == ["RUNNING"], "the attempt runs")
    rig.clock.advance(6)
    await rig.restart()
    await rig.quiet()
    assert rig.states(job) == ["RUNNING"]

    rig.clock.advance(5)
    rig.scheduler.wake()
    await rig.until(lambda: rig.job_state(job) == State.FAILED, "the attempt is killed")
    assert "timed out after 10 s" in rig.instances(job)[0].reason


async def test_attempt_numbers_are_not_reused_after_a_job_is_deleted_and_the_server_restarts(
    rig: Rig,
) -> None:
    """The executor launches an attempt id at most once (``Executor.launch``): a new attempt must not take
    the number of a deleted job's attempt, or its launch is ignored as a repeat."""
    gone = await rig.submit(task())
    await rig.until(lambda: len(rig.running(gone)) == 1, "the attempt runs")
    rig.finish(rig.running(gone)[0])
    await rig.until(lambda: rig.job_state(gone) == State.SUCCEED, "the job succeeds")
    await rig.delete_job(gone)
    await rig.restart()

    job = await rig.submit(task())
    await rig.until(lambda: len(rig.running(job)) == 1, "the new job's attempt runs")


async def test_a_node_the_executor_made_while_the_server_stopped_is_taken_back_after_a_restart(
    rig: Rig,
) -> None:
    """The server stops between provisioning a node and recording its NodeReady: the store says CREATING,
    the executor has the node. The next scheduler must learn that it is ready."""
    await rig.stop()
    env = rig.record_env(1)
    holding, release = threading.Event(), threading.Event()

    def hold_the_store() -> None:
        with rig.db.write():
            holding.set()
            release.wait(5)

    holder = asyncio.create_task(asyncio.to_thread(hold_the_store))
    await asyncio.to_thread(holding.wait, 5)
    await rig.start()
    await asyncio.sleep(0.2)  # the first tick (it carries out the RECONCILE) now waits for the store
    stopping = asyncio.create_task(rig.stop())
    await asyncio.sleep(0)  # the scheduler is told to stop: that tick is its last
    release.set()
    await stopping
    await holder
    assert [row.state for row in rig.nodes(env)] == [NodeState.CREATING]
    assert set(rig.executor.nodes()) == node_ids(rig, env)

    await rig.start()
    await rig.until(lambda: [row.state for row in rig.nodes(env)] == [NodeState.CREATED], "the node is ready")


# FAILED_INTERRUPTED holds its node -----------------------------------------------------------------


async def test_an_interrupted_instance_holds_its_node_until_terminate_task_instance(rig: Rig) -> None:
    job = await rig.submit(task(instances=3, FailedAction="INTERRUPT"))
    await rig.until(lambda: len(rig.running(job)) == 2, "the host is full")
    interrupted, other = rig.running(job)

    rig.finish(interrupted, exit_code=1)
    await rig.until(lambda: rig.states(job)[0] == State.FAILED_INTERRUPTED, "instance 0 is interrupted")
    await rig.quiet()
    assert rig.states(job)[2] == State.RUNNABLE  # its node is not reused
    assert interrupted.node_id in rig.executor.nodes() and interrupted.node_id in node_ids(rig)

    rig.finish(other)
    await rig.until(lambda: rig.states(job)[2] == State.RUNNING, "instance 2 takes the other node")
    assert rig.running(job)[0].node_id == other.node_id

    await rig.terminate_instance(job, "t", 0)
    await rig.until(lambda: interrupted.node_id not in rig.executor.nodes(), "the held node is released")
    assert rig.states(job)[0] == State.FAILED
    assert interrupted.node_id not in node_ids(rig)


async def test_a_held_node_stays_held_across_a_restart(rig: Rig) -> None:
    job = await rig.submit(task(instances=2, FailedAction="INTERRUPT"))
    await rig.until(lambda: len(rig.running(job)) == 2, "the host is full")
    interrupted, other = rig.running(job)
    rig.finish(interrupted, exit_code=1)
    await rig.until(lambda: rig.states(job)[0] == State.FAILED_INTERRUPTED, "instance 0 is interrupted")

    await rig.restart()
    await rig.quiet()
    assert interrupted.node_id in rig.executor.nodes() and interrupted.node_id in node_ids(rig)
    await rig.terminate_instance(job, "t", 0)
    await rig.until(lambda: interrupted.node_id not in rig.executor.nodes(), "the held node is released")
    assert rig.states(job) == ["FAILED", "RUNNING"] and rig.running(job)[0].node_id == other.node_id


async def test_an_interrupted_instance_holds_its_env_node_until_retry_jobs(rig: Rig) -> None:
    env = await rig.create_env(1)
    job = await rig.submit(task(env=env, FailedAction="INTERRUPT"))
    await rig.until(lambda: len(rig.running(job)) == 1, "the attempt runs")
    held = rig.running(job)[0].node_id
    rig.finish(rig.running(job)[0], exit_code=1)
    await rig.until(lambda: rig.job_state(job) == State.FAILED_INTERRUPTED, "the job is interrupted")

    waiting = await rig.submit(task(env=env), Priority=9)
    await rig.quiet()
    assert rig.states(waiting) == ["RUNNABLE"]  # the held node is not lent out
    assert node_ids(rig, env) == {held}

    await rig.retry_job(job)
    await rig.until(lambda: len(rig.running(waiting)) == 1, "the released node takes the best-ranked work")
    assert rig.running(waiting)[0].node_id == held
    assert [(row.state, row.attempts) for row in rig.instances(job)] == [("RUNNABLE", 0)]
    rig.finish(rig.running(waiting)[0])
    await rig.until(lambda: len(rig.running(job)) == 1, "the retried instance runs next")
    assert rig.running(job)[0].node_id == held


# Attempts queued on busy nodes (short attempts) ----------------------------------------------------


async def _teach_short_attempts(rig: Rig, env: Env | None = None, instances: int = 3) -> None:
    """Run attempts that take no time on the scheduler's clock: their pool's depth rises above one."""
    rig.one_attempt_per_node = False
    job = await rig.submit(task("short", instances=instances, env=env))

    def finish_what_runs() -> bool:
        for spec in rig.running(job, "short"):
            rig.finish(spec, ran_for=0)
        return rig.job_state(job) == State.SUCCEED

    await rig.until(finish_what_runs, "the short attempts end")


async def _queue_behind_short_attempts(rig: Rig, job: str, short: int) -> None:
    """Finish the task's first ``short`` instances at once on the scheduler's clock, so that its depth
    rises above one and the next two instances end up running and waiting on the node."""
    rig.one_attempt_per_node = False

    def finish_short_ones() -> bool:
        if rig.states(job)[:short] == [State.SUCCEED] * short:
            return True
        for spec in rig.running(job):
            if spec.index < short:
                rig.finish(spec, ran_for=0)
        return False

    await rig.until(finish_short_ones, "the short attempts end")
    await rig.until(lambda: rig.states(job)[short:] == ["RUNNING", "STARTING"], "the next waits on the node")


async def test_an_attempt_queued_on_a_busy_node_keeps_its_turn_across_a_restart(rig: Rig) -> None:
    env = await rig.create_env(1)
    job = await rig.submit(task(instances=5, env=env))
    await _queue_behind_short_attempts(rig, job, short=3)
    first = rig.running(job)[0]

    await rig.restart()
    await rig.quiet()
    rig.finish(first)
    await rig.until(lambda: rig.states(job)[4] == State.RUNNING, "the queued attempt runs")
    rig.finish(rig.running(job)[0])
    await rig.until(lambda: rig.job_state(job) == State.SUCCEED, "the job succeeds")
    await rig.quiet()
    assert [(a.idx, a.number, a.state) for a in rig.attempts(job)][3:] == [
        (3, 1, State.SUCCEED),
        (4, 1, State.SUCCEED),
    ]


async def test_attempts_queued_after_short_ones_do_not_hold_back_a_higher_priority_job(rig: Rig) -> None:
    """Depth is learnt per task (``Fleet``): after a task of short attempts, a task of long ones is not
    queued deep on the environment's nodes, and a job of higher priority that arrives later runs next."""
    env = await rig.create_env(1)
    await _teach_short_attempts(rig, env)
    low = await rig.submit(task(instances=4, env=env), Priority=0)
    await rig.until(lambda: len(rig.running(low)) == 1, "a long attempt runs")
    await rig.quiet()
    high = await rig.submit(task(env=env), Priority=9)
    await rig.quiet()

    rig.finish(rig.running(low)[0])
    await rig.until(lambda: len(rig.running(low)) + len(rig.running(high)) == 1, "the node takes the next")
    assert len(rig.running(high)) == 1, f"queued behind low-priority attempts: {rig.states(low)}"


async def test_attempts_queued_behind_an_interrupted_one_do_not_run_on_its_held_node(rig: Rig) -> None:
    """A FAILED_INTERRUPTED instance keeps its node for the user to look at: work queued behind it on
    that node must not run there, and goes back to wait for another node."""
    env = await rig.create_env(1)
    job = await rig.submit(task(instances=5, env=env, FailedAction="INTERRUPT"))
    await _queue_behind_short_attempts(rig, job, short=3)

    rig.finish(rig.running(job)[0], exit_code=1)
    await rig.until(lambda: rig.states(job)[3] == State.FAILED_INTERRUPTED, "instance 3 is interrupted")
    await rig.until(lambda: rig.states(job)[4] == State.RUNNABLE, "instance 4 waits for a node again")
    await rig.quiet()
    assert rig.running(job) == [], "an attempt runs on the node held for the interrupted instance"
