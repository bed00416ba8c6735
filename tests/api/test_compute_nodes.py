"""Compute nodes of named environments, end to end: the real server, the official SDK, real commands.

Each test checks what a user sees: DescribeComputeEnv's nodes and metrics, the activities that say
why nodes came and went, DescribeTask's instances (state, reason, the node they ran on) and files
the commands themselves wrote. Commands that must stay busy wait on a *gate* (a file the test
creates when it is done looking), so no test sleeps longer than it has to.

The module's server has room for eight S2.SMALL1 nodes (1 CPU, 1 GiB); each test scales its
environments to zero when it ends (``envs`` fixture), so the next finds the room free. Tests that
restart the server or delete an environment get a server of their own.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.batch.v20170312.batch_client import BatchClient as Client
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from conftest import (
    ZONE,
    Server,
    call,
    make_client,
    pids_running,
    running,
    stdout_of,
    submit,
    unique_sleep,
    wait_for,
    wait_job,
)

CONFIG = "[local]\ncpus = 8\nmemory_gib = 16\n"
INSTANCE_TYPE = "S2.SMALL1"

# ---------------------------------------------------------------------------------------------------
# Helpers.


def sdk_code(action: Callable[[], Any]) -> str:
    with pytest.raises(TencentCloudSDKException) as info:
        action()
    return str(info.value.code)


def create_env(client: Client, name: str, desired: int) -> str:
    spec = {"EnvName": name, "DesiredComputeNodeCount": desired, "EnvData": {"InstanceType": INSTANCE_TYPE}}
    return str(call(client, "CreateComputeEnv", {"ComputeEnv": spec, "Placement": {"Zone": ZONE}}).EnvId)


def env_task(name: str, command: str, env_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "TaskName": name,
        "Application": {"DeliveryForm": "LOCAL", "Command": command},
        "EnvId": env_id,
        **extra,
    }


def describe_env(client: Client, env: str) -> Any:
    return call(client, "DescribeComputeEnv", {"EnvId": env})


def node_set(client: Client, env: str) -> list[Any]:
    return list(describe_env(client, env).ComputeNodeSet)


def states(client: Client, env: str) -> dict[str, str]:
    """ComputeNodeId → ComputeNodeState."""
    return {n.ComputeNodeId: n.ComputeNodeState for n in node_set(client, env)}


def all_created(client: Client, env: str, count: int) -> list[Any] | None:
    """The environment's nodes once it has exactly ``count``, all idle."""
    found = node_set(client, env)
    ok = len(found) == count and all(n.ComputeNodeState == "CREATED" for n in found)
    return found if ok else None


def activities(client: Client, env: str) -> list[Any]:
    """Newest first."""
    return list(call(client, "DescribeComputeEnvActivities", {"EnvId": env, "Limit": 100}).ActivitySet)


def instances(client: Client, job_id: str, task_name: str = "t") -> list[Any]:
    return list(call(client, "DescribeTask", {"JobId": job_id, "TaskName": task_name}).TaskInstanceSet)


def instance(client: Client, job_id: str, task_name: str = "t", index: int = 0) -> Any:
    return instances(client, job_id, task_name)[index]


def instance_in(client: Client, job_id: str, state: str) -> Any:
    view = instance(client, job_id)
    return view if view.TaskInstanceState == state else None


def gone(client: Client, env: str) -> bool:
    try:
        describe_env(client, env)
    except TencentCloudSDKException as exc:
        return bool(exc.code == "ResourceNotFound.ComputeEnv")
    return False


class Gates:
    """Files commands wait for: a command stays busy until the test opens its gate."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: list[str] = []
        folder.mkdir(parents=True, exist_ok=True)

    def wait(self, name: str) -> str:
        """Shell that waits (at most about 60 s, so nothing is left behind for ever) for the gate."""
        self.made.append(name)
        gate = self.folder / name
        return f"i=0; while [ ! -e {gate} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done"

    def open(self, name: str) -> None:
        (self.folder / name).touch()

    def open_all(self) -> None:
        for name in self.made:
            self.open(name)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from running(Server(tmp_path_factory.mktemp("nodes") / "data", config=CONFIG))


@pytest.fixture
def gates(tmp_path: Path) -> Iterator[Gates]:
    """Every gate a test made is opened when it ends, pass or fail, so no command outlives it long."""
    made = Gates(tmp_path / "gates")
    yield made
    made.open_all()


@pytest.fixture
def envs(sdk: Client) -> Iterator[Callable[[str, int], str]]:
    """Creates environments and scales them to zero when the test ends, giving the host's room back."""
    made: list[str] = []

    def make(name: str, desired: int) -> str:
        env = create_env(sdk, name, desired)
        made.append(env)
        return env

    yield make
    for env in made:
        with contextlib.suppress(TencentCloudSDKException):  # deleted by the test
            call(sdk, "ModifyComputeEnv", {"EnvId": env, "DesiredComputeNodeCount": 0})


# ---------------------------------------------------------------------------------------------------
# 1. An environment of two nodes runs four instances, two at a time, on its own nodes.


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """How many intervals held at once at most (an end at the instant of a start does not overlap)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    level = peak = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    return peak


def test_two_nodes_run_four_instances_two_at_a_time_on_their_own_nodes(
    sdk: Client, envs: Callable[[str, int], str], tmp_path: Path
) -> None:
    """A node runs one attempt at a time: the pool, not the host's spare room, bounds the parallelism,
    and the instance records which of the pool's nodes it used."""
    env = envs("two-nodes", 2)
    nodes = wait_for(lambda: all_created(sdk, env, 2))
    assert all(n.TaskInstanceNumAvailable == 1 for n in nodes), "idle nodes can take an instance"
    assert all((n.Cpu, n.Mem, n.ResourceOrigin) == (1, 1, "BATCH_CREATED") for n in nodes)
    metrics = describe_env(sdk, env).ComputeNodeMetrics
    assert (metrics.CreatedCount, metrics.RunningCount) == (2, 0)

    # Each instance marks itself running (a folder per instance) and counts the marks it sees, and
    # writes when it started and ended: the commands themselves say how many ran at once.
    marks, times, seen = tmp_path / "running", tmp_path / "times", tmp_path / "seen"
    marks.mkdir()
    times.mkdir()
    index = "$BATCH_TASK_INSTANCE_INDEX"
    command = (
        f"s=$(date +%s.%N); mkdir {marks}/{index}; ls {marks} | wc -l >> {seen}; sleep 1; "
        f"rmdir {marks}/{index}; echo $s $(date +%s.%N) > {times}/{index}"
    )
    job_id = submit(sdk, env_task("t", command, env, TaskInstanceNum=4))

    busy = wait_for(
        lambda: (v := describe_env(sdk, env)).ComputeNodeMetrics.RunningCount == 2 and v, timeout=10
    )
    assert [n.ComputeNodeState for n in busy.ComputeNodeSet] == ["RUNNING", "RUNNING"]
    assert [n.TaskInstanceNumAvailable for n in busy.ComputeNodeSet] == [0, 0], "busy nodes take nothing"
    assert busy.ComputeNodeMetrics.CreatedCount == 0

    assert wait_job(sdk, job_id, timeout=30).JobState == "SUCCEED"
    intervals = [(float(a), float(b)) for a, b in (f.read_text().split() for f in times.iterdir())]
    assert len(intervals) == 4 and max_overlap(intervals) == 2, intervals
    assert max(int(line) for line in seen.read_text().split()) <= 2
    node_ids = {n.ComputeNodeInstanceId for n in nodes}
    ran_on = [v.ComputeNodeInstanceId for v in instances(sdk, job_id)]
    assert set(ran_on) == node_ids, "each instance ran on one of the environment's two nodes, both used"

    after = wait_for(lambda: all_created(sdk, env, 2))
    assert {n.ComputeNodeId for n in after} == {n.ComputeNodeId for n in nodes}, "the same nodes stay"
    assert [n.TaskInstanceNumAvailable for n in after] == [1, 1]


# ---------------------------------------------------------------------------------------------------
# 2. Scaling out and in, with activities; a busy node is kept and its instance finishes on it.


def test_modify_scales_out_then_in_keeping_the_busy_node(
    sdk: Client, envs: Callable[[str, int], str], gates: Gates
) -> None:
    """Shrinking retires idle nodes first: the busy node is the one kept (not retired after its
    attempt), so scaling in never interrupts work when idle nodes can go instead."""
    env = envs("scaled", 2)
    first = wait_for(lambda: all_created(sdk, env, 2))

    call(sdk, "ModifyComputeEnv", {"EnvId": env, "DesiredComputeNodeCount": 3})
    three = wait_for(lambda: all_created(sdk, env, 3))
    assert {n.ComputeNodeId for n in first} < {n.ComputeNodeId for n in three}
    added = ({n.ComputeNodeId for n in three} - {n.ComputeNodeId for n in first}).pop()
    creations = [
        (a.ComputeNodeId, a.Cause, a.ActivityState)
        for a in activities(sdk, env)
        if a.ComputeNodeActivityType == "CREATE_COMPUTE_NODE"
    ]
    assert sorted(creations) == sorted(
        [(n.ComputeNodeId, "CreateComputeEnv: the capacity is 2", "SUCCEED") for n in first]
        + [(added, "ModifyComputeEnv: increase the capacity from 2 to 3", "SUCCEED")]
    )

    job_id = submit(sdk, env_task("t", f"{gates.wait('long')}; echo finished", env))
    running_on = wait_for(lambda: instance_in(sdk, job_id, "RUNNING")).ComputeNodeInstanceId
    busy = next(n for n in three if n.ComputeNodeInstanceId == running_on)
    idle = {n.ComputeNodeId for n in three} - {busy.ComputeNodeId}

    call(sdk, "ModifyComputeEnv", {"EnvId": env, "DesiredComputeNodeCount": 1})
    # The two idle nodes go at once; the busy one is the one kept, still running its instance.
    assert wait_for(lambda: states(sdk, env) == {busy.ComputeNodeId: "RUNNING"} or None, timeout=10)
    view = describe_env(sdk, env)
    assert (view.DesiredComputeNodeCount, view.ComputeNodeMetrics.RunningCount) == (1, 1)
    terminations = [
        (a.ComputeNodeId, a.Cause, a.ActivityState)
        for a in activities(sdk, env)
        if a.ComputeNodeActivityType == "TERMINATE_COMPUTE_NODE"
    ]
    cause = "ModifyComputeEnv: decrease the capacity from 3 to 1"
    assert sorted(terminations) == sorted((node, cause, "SUCCEED") for node in idle)
    assert instance(sdk, job_id).TaskInstanceState == "RUNNING"

    gates.open("long")
    assert wait_job(sdk, job_id).JobState == "SUCCEED"
    assert instance(sdk, job_id).ComputeNodeInstanceId == busy.ComputeNodeInstanceId
    assert stdout_of(sdk, job_id, "t") == "finished\n"
    kept = wait_for(lambda: all_created(sdk, env, 1))
    assert kept[0].ComputeNodeId == busy.ComputeNodeId and kept[0].TaskInstanceNumAvailable == 1


# ---------------------------------------------------------------------------------------------------
# 3. A node terminated while busy: its instance is retried elsewhere; the node is replaced.


def test_terminating_a_busy_node_retries_its_instance_and_replaces_the_node(
    sdk: Client, envs: Callable[[str, int], str], gates: Gates, tmp_path: Path
) -> None:
    """A second, higher-priority job takes the replacement node first, so the retried instance waits
    RUNNABLE long enough to be seen with the reason its first attempt ended."""
    env = envs("terminated", 1)
    (old,) = wait_for(lambda: all_created(sdk, env, 1))
    first_run = tmp_path / "first-run"  # made by the first attempt, which then waits for its sleep
    sleeper = unique_sleep(30)
    command = (
        f"if [ -e {first_run} ]; then echo second; exit 0; fi; {sleeper} & touch {first_run}; wait; exit 1"
    )
    job_id = submit(sdk, env_task("t", command, env, MaxRetryCount=0))
    wait_for(lambda: instance_in(sdk, job_id, "RUNNING") and first_run.exists() and pids_running(sleeper))
    assert instance(sdk, job_id).ComputeNodeInstanceId == old.ComputeNodeInstanceId
    urgent = submit(sdk, env_task("t", gates.wait("urgent"), env), Priority=50)

    call(sdk, "TerminateComputeNode", {"EnvId": env, "ComputeNodeId": old.ComputeNodeId})
    waiting = wait_for(lambda: instance_in(sdk, job_id, "RUNNABLE"), timeout=15)
    node_id = old.ComputeNodeId
    assert waiting.StateReason == (
        f"Attempt 1 failed; retrying: The compute node {node_id} was terminated "
        f"(TerminateComputeNode: {node_id})."
    )
    wait_for(lambda: not pids_running(sleeper), timeout=10)  # the first attempt was killed

    (new,) = wait_for(
        lambda: (
            len(found := node_set(sdk, env)) == 1
            and found[0].ComputeNodeId != old.ComputeNodeId
            and found[0].ComputeNodeState == "RUNNING"
            and found
        )
    )
    view = describe_env(sdk, env)
    assert view.DesiredComputeNodeCount == 1 and len(view.ComputeNodeSet) == 1
    assert instance(sdk, urgent).ComputeNodeInstanceId == new.ComputeNodeInstanceId

    gates.open("urgent")
    assert wait_job(sdk, urgent).JobState == "SUCCEED"
    assert wait_job(sdk, job_id).JobState == "SUCCEED", "the retried command succeeds"
    final = instance(sdk, job_id)
    assert (final.TaskInstanceState, final.ExitCode) == ("SUCCEED", 0)
    assert final.ComputeNodeInstanceId == new.ComputeNodeInstanceId
    assert stdout_of(sdk, job_id, "t") == "second\n"

    by_node = {(a.ComputeNodeId, a.ComputeNodeActivityType): a for a in activities(sdk, env)}
    ended = by_node[(old.ComputeNodeId, "TERMINATE_COMPUTE_NODE")]
    assert (ended.Cause, ended.ActivityState) == (f"TerminateComputeNode: {old.ComputeNodeId}", "SUCCEED")
    made = by_node[(new.ComputeNodeId, "CREATE_COMPUTE_NODE")]
    assert made.Cause == f"TerminateComputeNode: {old.ComputeNodeId}: replace the terminated compute nodes"
    assert made.ActivityState == "SUCCEED"


# ---------------------------------------------------------------------------------------------------
# 4. Attached instances run work and leave by DetachInstances; Batch's own nodes do not.


def test_attached_instance_runs_work_and_detaches(sdk: Client, envs: Callable[[str, int], str]) -> None:
    """A machine its owner attached is a node like any other for work, but leaves only by
    DetachInstances; a node Batch made is not the user's to detach."""
    env = envs("attached", 0)
    mine = "ins-attach01"
    call(sdk, "AttachInstances", {"EnvId": env, "Instances": [{"InstanceId": mine}]})
    (node,) = wait_for(lambda: all_created(sdk, env, 1))
    assert (node.ComputeNodeInstanceId, node.ResourceOrigin) == (mine, "USER_ATTACHED")
    view = describe_env(sdk, env)
    assert (view.AttachedComputeNodeCount, view.DesiredComputeNodeCount) == (1, 0)
    attached = [a for a in activities(sdk, env) if a.ComputeNodeId == node.ComputeNodeId]
    assert [(a.ComputeNodeActivityType, a.Cause, a.InstanceId) for a in attached] == [
        ("ATTACH_INSTANCE", f"AttachInstances: {mine}", mine)
    ]

    job_id = submit(sdk, env_task("t", "echo on-attached", env))
    assert wait_job(sdk, job_id).JobState == "SUCCEED"
    assert instance(sdk, job_id).ComputeNodeInstanceId == mine
    assert stdout_of(sdk, job_id, "t") == "on-attached\n"

    params = {"EnvId": env, "ComputeNodeId": node.ComputeNodeId}
    code = sdk_code(lambda: call(sdk, "TerminateComputeNode", params))
    assert code == "UnsupportedOperation.ComputeNodeForbidTerminate", "an attached node is detached instead"

    call(sdk, "ModifyComputeEnv", {"EnvId": env, "DesiredComputeNodeCount": 1})
    both = wait_for(lambda: all_created(sdk, env, 2))
    own = next(n for n in both if n.ResourceOrigin == "BATCH_CREATED")
    params2 = {"EnvId": env, "InstanceIds": [own.ComputeNodeInstanceId]}
    assert sdk_code(lambda: call(sdk, "DetachInstances", params2)) == "UnsupportedOperation"

    call(sdk, "DetachInstances", {"EnvId": env, "InstanceIds": [mine]})
    left = wait_for(lambda: all_created(sdk, env, 1))
    assert left[0].ComputeNodeId == own.ComputeNodeId, "the attached node is gone, Batch's own stays"
    assert describe_env(sdk, env).AttachedComputeNodeCount == 0
    detached = [a for a in activities(sdk, env) if a.ComputeNodeActivityType == "DETACH_INSTANCE"]
    assert [(a.ComputeNodeId, a.Cause, a.ActivityState) for a in detached] == [
        (node.ComputeNodeId, f"DetachInstances: {mine}", "SUCCEED")
    ]


# ---------------------------------------------------------------------------------------------------
# 5. DeleteComputeEnv waits for the environment's jobs, then the environment goes with its nodes.


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    yield from running(Server(tmp_path / "data", config=CONFIG))


def test_delete_is_refused_while_a_job_runs_then_the_environment_goes(
    own_server: Server, tmp_path: Path
) -> None:
    """Deleting would strand a running job; once it ended, deletion is accepted and completes when
    the scheduler has retired the last node."""
    client = make_client(own_server.endpoint)
    gates = Gates(tmp_path / "gates")
    env = create_env(client, "deleted", 2)
    wait_for(lambda: all_created(client, env, 2))
    job_id = submit(client, env_task("t", gates.wait("go"), env))
    wait_for(lambda: instance_in(client, job_id, "RUNNING"))

    code = sdk_code(lambda: call(client, "DeleteComputeEnv", {"EnvId": env}))
    assert code == "UnsupportedOperation.ComputeEnvOperation"
    assert len(node_set(client, env)) == 2, "a refused deletion changes nothing"

    gates.open("go")
    assert wait_job(client, job_id).JobState == "SUCCEED"
    call(client, "DeleteComputeEnv", {"EnvId": env})
    wait_for(lambda: gone(client, env), timeout=15)
    code = sdk_code(lambda: call(client, "DescribeComputeEnv", {"EnvId": env}))
    assert code == "ResourceNotFound.ComputeEnv"
    assert env not in [e.EnvId for e in call(client, "DescribeComputeEnvs", {"Limit": 100}).ComputeEnvSet]


# ---------------------------------------------------------------------------------------------------
# 6. A busy environment does not hold up another.


def test_a_job_on_one_environment_runs_while_another_environment_is_busy(
    sdk: Client, envs: Callable[[str, int], str], gates: Gates
) -> None:
    """Dispatch is per environment: work waiting for A's only node never blocks B's."""
    a, b = envs("env-a", 1), envs("env-b", 1)
    (node_a,) = wait_for(lambda: all_created(sdk, a, 1))
    (node_b,) = wait_for(lambda: all_created(sdk, b, 1))
    long_job = submit(sdk, env_task("t", gates.wait("a"), a))
    wait_for(lambda: instance_in(sdk, long_job, "RUNNING"))
    waiting_on_a = submit(sdk, env_task("t", "echo a", a))

    quick = submit(sdk, env_task("t", "echo b", b))
    assert wait_job(sdk, quick, timeout=15).JobState == "SUCCEED"
    assert instance(sdk, quick).ComputeNodeInstanceId == node_b.ComputeNodeInstanceId
    assert instance(sdk, long_job).TaskInstanceState == "RUNNING", "A's job is still running"
    assert instance(sdk, waiting_on_a).TaskInstanceState == "RUNNABLE", "A's queue stays on A's node"

    gates.open("a")
    assert wait_job(sdk, long_job).JobState == "SUCCEED"
    assert wait_job(sdk, waiting_on_a).JobState == "SUCCEED"
    assert instance(sdk, waiting_on_a).ComputeNodeInstanceId == node_a.ComputeNodeInstanceId


# ---------------------------------------------------------------------------------------------------
# 7. A killed server keeps its nodes and the attempts running on them.


def test_killed_server_keeps_busy_nodes_and_their_instances_run_once(
    own_server: Server, tmp_path: Path
) -> None:
    """Nodes and the attempts on them are in the store: after SIGKILL the server takes both back
    instead of making new nodes or running the commands again."""
    client = make_client(own_server.endpoint)
    env = create_env(client, "restarted", 2)
    nodes = wait_for(lambda: all_created(client, env, 2))
    runs = tmp_path / "runs.txt"
    command = f"echo $BATCH_TASK_INSTANCE_INDEX >> {runs}; sleep 3; echo done"
    job_id = submit(client, env_task("t", command, env, TaskInstanceNum=2))
    before = wait_for(
        lambda: (
            (found := instances(client, job_id))
            and all(v.TaskInstanceState == "RUNNING" for v in found)
            and found
        )
    )
    ran_on = [v.ComputeNodeInstanceId for v in before]
    assert sorted(ran_on) == sorted(n.ComputeNodeInstanceId for n in nodes)

    own_server.stop(signal.SIGKILL)
    own_server.start()

    assert {n.ComputeNodeId for n in node_set(client, env)} == {n.ComputeNodeId for n in nodes}
    assert wait_job(client, job_id, timeout=30).JobState == "SUCCEED"
    after = instances(client, job_id)
    assert [(v.TaskInstanceState, v.ExitCode) for v in after] == [("SUCCEED", 0), ("SUCCEED", 0)]
    assert [v.ComputeNodeInstanceId for v in after] == ran_on, "each instance stayed on its node"
    assert sorted(runs.read_text().split()) == ["0", "1"], "each instance ran exactly once"
    assert [stdout_of(client, job_id, "t", i) for i in (0, 1)] == ["done\n", "done\n"]
    wait_for(lambda: all_created(client, env, 2))
    assert {n.ComputeNodeId for n in node_set(client, env)} == {n.ComputeNodeId for n in nodes}


# ---------------------------------------------------------------------------------------------------
# 8. TerminateTaskInstance / TerminateJob in a named environment: the node goes back to work.


def test_terminations_kill_the_attempt_and_the_node_runs_the_next_job(
    sdk: Client, envs: Callable[[str, int], str], tmp_path: Path
) -> None:
    """Terminating work in a named environment kills the process group and fails the instance for
    good, but the node is the environment's: it stays and takes the next job waiting for it."""
    env = envs("terminations", 1)
    (node,) = wait_for(lambda: all_created(sdk, env, 1))

    sleepers = {name: unique_sleep(30) for name in ("first", "second")}

    def killable(name: str) -> str:
        """Sleeps in the background, and makes a file only if it is not killed."""
        return f"{sleepers[name]} & wait; touch {tmp_path / name}.finished"

    first = submit(sdk, env_task("t", killable("first"), env))
    wait_for(lambda: instance_in(sdk, first, "RUNNING") and pids_running(sleepers["first"]))
    second = submit(sdk, env_task("t", killable("second"), env))
    third = submit(sdk, env_task("t", "echo third", env))
    assert instance(sdk, second).TaskInstanceState == "RUNNABLE"

    def kill(job_id: str, name: str, action: str, params: dict[str, Any]) -> None:
        """The job's instance runs on the one node; the action kills it and fails it for good."""
        wait_for(lambda: instance_in(sdk, job_id, "RUNNING") and pids_running(sleepers[name]))
        assert instance(sdk, job_id).ComputeNodeInstanceId == node.ComputeNodeInstanceId
        call(sdk, action, {"JobId": job_id, **params})
        assert wait_job(sdk, job_id, timeout=15).JobState == "FAILED"
        view = instance(sdk, job_id)
        assert view.TaskInstanceState == "FAILED" and action in view.StateReason, view.StateReason
        wait_for(lambda: not pids_running(sleepers[name]), timeout=10)
        assert not (tmp_path / f"{name}.finished").exists(), "the attempt was killed, not finished"

    kill(first, "first", "TerminateTaskInstance", {"TaskName": "t", "TaskInstanceIndex": 0})
    kill(second, "second", "TerminateJob", {})

    assert wait_job(sdk, third).JobState == "SUCCEED"
    assert instance(sdk, third).ComputeNodeInstanceId == node.ComputeNodeInstanceId
    assert stdout_of(sdk, third, "t") == "third\n"
    (after,) = wait_for(lambda: all_created(sdk, env, 1))
    assert after.ComputeNodeId == node.ComputeNodeId and after.TaskInstanceNumAvailable == 1
