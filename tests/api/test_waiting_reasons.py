"""Why an instance waits: the StateReason of PENDING and RUNNABLE instances, end to end.

Each test reaches one or more of the reasons of docs/semantics.md ("Why an instance waits") with real
commands held busy by *gates* (files the test creates when it is done looking), reads the words and
numbers through the official SDK (DescribeTask) and DescribeJob's task-level reason (a member the SDK
does not know, so read from the answer's JSON), then lets the instance run and sees the reason go.

The module's server has room for eight S2.SMALL1 nodes (1 CPU, 1 GiB) for named environments; tests
of anonymous nodes get a server of their own with room for one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.batch.v20170312.batch_client import BatchClient as Client
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from conftest import ZONE, Server, call, make_client, running, submit, task, wait_for

CONFIG = "[local]\ncpus = 8\nmemory_gib = 16\n"
ONE_NODE = "[local]\ncpus = 1\nmemory_gib = 4\n"
PRE_TASK_SUCCEED = "(PRE_TASK_SUCCEED: every predecessor must succeed)"


class Gates:
    """Files commands wait for: a command stays busy until the test opens its gate."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def wait(self, name: str) -> str:
        """Shell that waits (at most about 60 s, so nothing is left behind for ever) for the gate;
        ``name`` may use the instance's variables (``$BATCH_TASK_INSTANCE_INDEX``)."""
        gate = f"{self.folder}/{name}"
        return f'i=0; while [ ! -e "{gate}" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done'

    def open(self, name: str) -> None:
        (self.folder / name).touch()


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from running(Server(tmp_path_factory.mktemp("waiting") / "data", config=CONFIG))


@pytest.fixture
def one_node(tmp_path: Path) -> Iterator[Server]:
    yield from running(Server(tmp_path / "data", config=ONE_NODE))


@pytest.fixture
def gates(tmp_path: Path) -> Gates:
    return Gates(tmp_path / "gates")


@pytest.fixture
def jobs(sdk: Client) -> Iterator[list[str]]:
    """Jobs a test made: terminated when it ends, pass or fail, so their commands stop."""
    made: list[str] = []
    yield made
    for job_id in made:
        with contextlib.suppress(TencentCloudSDKException):
            call(sdk, "TerminateJob", {"JobId": job_id})


@pytest.fixture
def envs(sdk: Client) -> Iterator[Callable[..., str]]:
    """Creates environments and scales them to zero when the test ends, giving the host's room back."""
    made: list[str] = []

    def make(name: str, desired: int, instance_type: str = "S2.SMALL1") -> str:
        spec = {
            "EnvName": name,
            "DesiredComputeNodeCount": desired,
            "EnvData": {"InstanceType": instance_type},
        }
        env = str(call(sdk, "CreateComputeEnv", {"ComputeEnv": spec, "Placement": {"Zone": ZONE}}).EnvId)
        made.append(env)
        return env

    yield make
    for env in made:
        with contextlib.suppress(TencentCloudSDKException):
            call(sdk, "ModifyComputeEnv", {"EnvId": env, "DesiredComputeNodeCount": 0})


def env_task(name: str, command: str, env_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "TaskName": name,
        "Application": {"DeliveryForm": "LOCAL", "Command": command},
        "EnvId": env_id,
        **extra,
    }


def instance(client: Client, job_id: str, name: str, index: int = 0) -> Any:
    params = {"JobId": job_id, "TaskName": name, "Offset": index, "Limit": 1}
    return call(client, "DescribeTask", params).TaskInstanceSet[0]


def reason(client: Client, job_id: str, name: str, index: int = 0) -> str:
    return str(instance(client, job_id, name, index).StateReason)


def task_reason(client: Client, job_id: str, name: str) -> str:
    """DescribeJob's own reason for the task, from the answer's JSON (the SDK's TaskView drops it)."""
    answer = client.call_json("DescribeJob", {"JobId": job_id})["Response"]
    return str(next(t["StateReason"] for t in answer["TaskSet"] if t["TaskName"] == name))


def says(client: Client, job_id: str, name: str, expected: str, index: int = 0) -> None:
    """Until the instance's StateReason is ``expected``; then DescribeJob's task says it too."""
    wait_for(lambda: reason(client, job_id, name, index) == expected, timeout=20)
    assert task_reason(client, job_id, name) == expected


def runs_without_reason(client: Client, job_id: str, name: str, index: int = 0) -> None:
    """The instance runs, and no waiting reason is left on it; nor on its task, if none of it waits."""
    wait_for(lambda: instance(client, job_id, name, index).TaskInstanceState == "RUNNING", timeout=20)
    assert reason(client, job_id, name, index) == ""
    waiting = call(client, "DescribeJob", {"JobId": job_id}).TaskInstanceMetrics
    if not (waiting.PendingCount or waiting.RunnableCount):
        assert task_reason(client, job_id, name) == ""


def nodes_in(client: Client, env: str) -> list[str]:
    return [n.ComputeNodeState for n in call(client, "DescribeComputeEnv", {"EnvId": env}).ComputeNodeSet]


def state(client: Client, job_id: str, name: str, index: int = 0) -> str:
    return str(instance(client, job_id, name, index).TaskInstanceState)


# ---------------------------------------------------------------------------------------------------
# PENDING: the predecessors not finished yet.


def test_a_pending_instance_names_the_predecessors_it_still_waits_for(
    sdk: Client, gates: Gates, jobs: list[str], envs: Callable[..., str]
) -> None:
    env = envs("dag", 3)
    job_id = submit(
        sdk,
        env_task("prepare", gates.wait("prepare"), env),
        env_task("fetch", gates.wait("fetch"), env),
        env_task("use", gates.wait("use"), env, TaskInstanceNum=2),
        Dependences=[{"StartTask": "prepare", "EndTask": "use"}, {"StartTask": "fetch", "EndTask": "use"}],
    )
    jobs.append(job_id)

    says(sdk, job_id, "use", f'waiting for tasks "prepare" and "fetch" to finish {PRE_TASK_SUCCEED}')
    assert reason(sdk, job_id, "use", 1) == reason(sdk, job_id, "use", 0), "every instance is told"
    gates.open("fetch")
    says(sdk, job_id, "use", f'waiting for task "prepare" to finish {PRE_TASK_SUCCEED}')
    assert state(sdk, job_id, "use") == "PENDING"

    gates.open("prepare")
    runs_without_reason(sdk, job_id, "use")


def test_the_pending_reason_follows_the_jobs_task_execution_depend_on(
    sdk: Client, gates: Gates, jobs: list[str], envs: Callable[..., str]
) -> None:
    env = envs("finished", 1)
    job_id = submit(
        sdk,
        env_task("first", gates.wait("first"), env),
        env_task("then", "true", env),
        Dependences=[{"StartTask": "first", "EndTask": "then"}],
        TaskExecutionDependOn="PRE_TASK_FINISHED",
    )
    jobs.append(job_id)

    says(sdk, job_id, "then", 'waiting for task "first" to finish (PRE_TASK_FINISHED)')


# ---------------------------------------------------------------------------------------------------
# RUNNABLE in a named environment: busy nodes, the queue ahead, a job of higher priority.


def test_runnable_instances_say_the_busy_nodes_the_queue_ahead_and_a_higher_priority_job(
    sdk: Client, gates: Gates, jobs: list[str], envs: Callable[..., str]
) -> None:
    env = envs("busy", 2)
    first = submit(sdk, env_task("a", gates.wait("a"), env, TaskInstanceNum=16))
    jobs.append(first)
    wait_for(lambda: state(sdk, first, "a", 1) == "RUNNING", timeout=20)
    says(
        sdk,
        first,
        "a",
        f"no free compute node in {env} (2 of 2 busy, 0 instances queued ahead of this task)",
        2,
    )
    second = submit(sdk, env_task("b", gates.wait("b"), env))
    jobs.append(second)

    says(
        sdk,
        second,
        "b",
        f"no free compute node in {env} (2 of 2 busy, 14 instances queued ahead of this task)",
    )

    urgent = submit(sdk, env_task("h", gates.wait("h"), env), Priority=50)
    jobs.append(urgent)
    says(
        sdk,
        urgent,
        "h",
        f"no free compute node in {env} (2 of 2 busy, 0 instances queued ahead of this task)",
    )
    behind = f"waiting behind higher-priority job {urgent} (priority 50 over 0, "
    says(sdk, first, "a", behind + "1 instance queued ahead of this task)", 2)
    says(sdk, second, "b", behind + "15 instances queued ahead of this task)")

    gates.open("a")  # the first two end: the urgent one goes first, then the rest of "a"
    runs_without_reason(sdk, urgent, "h")
    runs_without_reason(sdk, second, "b")
    assert [state(sdk, first, "a", i) for i in (2, 15)] == ["SUCCEED", "SUCCEED"]
    assert (reason(sdk, first, "a", 15), task_reason(sdk, first, "a")) == ("", "")


def test_max_concurrent_num_reached_is_the_reason_while_nodes_are_free(
    sdk: Client, gates: Gates, jobs: list[str], envs: Callable[..., str]
) -> None:
    env = envs("capped", 2)
    wait = gates.wait("m$BATCH_TASK_INSTANCE_INDEX")
    job_id = submit(sdk, env_task("m", wait, env, TaskInstanceNum=3, MaxConcurrentNum=1))
    jobs.append(job_id)

    wait_for(lambda: state(sdk, job_id, "m") == "RUNNING", timeout=20)
    says(sdk, job_id, "m", "the task's MaxConcurrentNum (1) is reached", 1)
    assert reason(sdk, job_id, "m", 2) == "the task's MaxConcurrentNum (1) is reached"

    gates.open("m0")
    runs_without_reason(sdk, job_id, "m", 1)
    assert reason(sdk, job_id, "m", 2) == "the task's MaxConcurrentNum (1) is reached"
    assert task_reason(sdk, job_id, "m") == "the task's MaxConcurrentNum (1) is reached", "one still waits"


def test_an_environment_without_nodes_says_so_until_it_has_one(
    sdk: Client, gates: Gates, jobs: list[str], envs: Callable[..., str]
) -> None:
    env = envs("empty", 0)
    job_id = submit(sdk, env_task("e", gates.wait("e"), env))
    jobs.append(job_id)

    says(sdk, job_id, "e", f"{env} has no compute node in service")

    call(sdk, "ModifyComputeEnv", {"EnvId": env, "DesiredComputeNodeCount": 1})
    runs_without_reason(sdk, job_id, "e")


def test_an_environment_whose_nodes_cannot_be_made_says_how_many_failed(
    sdk: Client, jobs: list[str], envs: Callable[..., str]
) -> None:
    env = envs("too-big", 1, "S5.4XLARGE64")  # 16 CPU, 64 GiB: more than this host has
    job_id = submit(sdk, env_task("t", "true", env))
    jobs.append(job_id)

    says(sdk, job_id, "t", f"{env} has no compute node in service (1 could not be made)")


def test_a_node_waiting_for_room_on_a_host_is_the_reason_until_it_is_made(
    sdk: Client, gates: Gates, jobs: list[str], envs: Callable[..., str]
) -> None:
    hog = envs("hog", 1, "S5.2XLARGE16")  # 8 CPU, 16 GiB: the whole host
    wait_for(lambda: nodes_in(sdk, hog) == ["CREATED"], timeout=20)
    env = envs("late", 1)
    job_id = submit(sdk, env_task("t", gates.wait("t"), env))
    jobs.append(job_id)

    says(
        sdk,
        job_id,
        "t",
        f"no compute node of {env} is ready yet (1 being made, 0 instances queued ahead of this task)",
    )

    call(sdk, "ModifyComputeEnv", {"EnvId": hog, "DesiredComputeNodeCount": 0})
    runs_without_reason(sdk, job_id, "t")


def test_tasks_beyond_the_tasks_dispatch_reads_at_once_are_told_what_waits_ahead_at_least(
    sdk: Client, jobs: list[str], envs: Callable[..., str]
) -> None:
    """Dispatch reads 200 waiting tasks of a queue per tick; a new task behind them is told so."""
    env = envs("deep", 0)
    job_id = submit(sdk, *(env_task(f"t{i}", "true", env) for i in range(201)))
    jobs.append(job_id)

    says(
        sdk, job_id, "t200", f"queued in {env} behind 200 earlier waiting tasks (200 instances or more ahead)"
    )
    assert reason(sdk, job_id, "t199") == f"{env} has no compute node in service"


# ---------------------------------------------------------------------------------------------------
# RUNNABLE with anonymous nodes: room on the host, the task ahead, a type no host can hold.


@pytest.mark.local_only  # counts on one_node's one-CPU machine
def test_anonymous_instances_say_what_room_they_wait_for_and_who_is_ahead(
    one_node: Server, tmp_path: Path
) -> None:
    client = make_client(one_node.endpoint)
    gates = Gates(tmp_path / "gates")
    wide = submit(client, task("x", gates.wait("x$BATCH_TASK_INSTANCE_INDEX"), TaskInstanceNum=2))
    wait_for(lambda: state(client, wide, "x") == "RUNNING", timeout=20)
    room = "waiting for room on a host: a node of S2.SMALL1 needs 1 CPU, 1 GiB; the most free on one host is"
    says(client, wide, "x", f"{room} 0 CPU, 3 GiB", 1)
    later = submit(client, task("y", gates.wait("y")))
    says(
        client,
        later,
        "y",
        f'waiting behind task "x" of {wide}, which waits for room on a host first '
        "(1 instance queued ahead of this task)",
    )

    urgent = submit(client, task("z", gates.wait("z")), Priority=50)
    says(client, urgent, "z", f"{room} 0 CPU, 3 GiB")
    behind = f"waiting behind higher-priority job {urgent} (priority 50 over 0, "
    says(client, wide, "x", behind + "1 instance queued ahead of this task)", 1)
    says(client, later, "y", behind + "2 instances queued ahead of this task)")

    huge = {**task("big", "true"), "ComputeEnv": {"EnvData": {"InstanceType": "S5.LARGE8"}}}
    held = submit(client, huge, StateIfCreateCvmFailed="RUNNABLE")
    no_host = (
        "no host can hold instance type S5.LARGE8 (needs 4 CPU, 8 GiB; the largest host has 1 CPU, 4 GiB)"
    )
    wait_for(lambda: task_reason(client, held, "big") == no_host, timeout=20)
    # The instance shows this, or once dispatch reached it past the queue, its own older words.
    assert "host can hold" in reason(client, held, "big") and "S5.LARGE8" in reason(client, held, "big")

    gates.open("x0")
    runs_without_reason(client, urgent, "z")
    assert state(client, wide, "x", 1) == "RUNNABLE"
    for job_id in (wide, later, urgent, held):
        call(client, "TerminateJob", {"JobId": job_id})
