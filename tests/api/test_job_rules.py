"""Job and task rules of Tencent Cloud Batch, shown with real commands through the official SDK."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from conftest import (
    Server,
    call,
    decode_log,
    make_client,
    pids_running,
    running,
    stdout_of,
    submit,
    task,
    unique_sleep,
    wait_for,
    wait_job,
)

# Hosts that hold one and four nodes of the 1-CPU instance type the tests' tasks ask for.
ONE_NODE = "[local]\ncpus = 1\nmemory_gib = 4\n"
FOUR_NODES = "[local]\ncpus = 4\nmemory_gib = 16\n"


@pytest.fixture
def one_node(tmp_path: Path) -> Iterator[Server]:
    yield from running(Server(tmp_path / "data", config=ONE_NODE))


@pytest.fixture
def four_nodes(tmp_path: Path) -> Iterator[Server]:
    yield from running(Server(tmp_path / "data", config=FOUR_NODES))


def instance(client: Any, job_id: str, name: str, index: int = 0) -> Any:
    return call(client, "DescribeTask", {"JobId": job_id, "TaskName": name}).TaskInstanceSet[index]


def error_code(fn: Any, *args: Any) -> str:
    with pytest.raises(TencentCloudSDKException) as info:
        fn(*args)
    return str(info.value.code)


def test_command_failing_twice_succeeds_on_its_third_attempt(client: Any, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    command = f"echo x >> {counter}; test $(wc -l < {counter}) -ge 3"
    job_id = submit(client, task("flaky", command, MaxRetryCount=2))

    assert wait_job(client, job_id).JobState == "SUCCEED"
    assert counter.read_text() == "x\nx\nx\n"
    view = instance(client, job_id, "flaky")
    assert (view.TaskInstanceState, view.ExitCode, view.StateReason) == ("SUCCEED", 0, "")


def test_retries_are_exhausted_after_max_retry_count(client: Any, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    job_id = submit(client, task("broken", f"echo x >> {counter}; exit 5", MaxRetryCount=1))

    assert wait_job(client, job_id).JobState == "FAILED"
    assert counter.read_text() == "x\nx\n"
    assert instance(client, job_id, "broken").ExitCode == 5


def test_timeout_kills_the_whole_process_group_and_says_so(client: Any) -> None:
    child = unique_sleep(60)
    job_id = submit(client, task("slow", f"{child} & wait", Timeout=1))
    wait_for(lambda: pids_running(child))

    job = wait_job(client, job_id, timeout=20)

    assert job.JobState == "FAILED"
    view = instance(client, job_id, "slow")
    assert view.TaskInstanceState == "FAILED"
    assert "timed out" in view.StateReason
    assert not pids_running(child), "the command's children are killed too"


def test_timeout_applies_to_each_retry(client: Any, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    job_id = submit(client, task("slow", f"echo x >> {counter}; sleep 60", Timeout=1, MaxRetryCount=1))

    assert wait_job(client, job_id, timeout=30).JobState == "FAILED"
    assert counter.read_text() == "x\nx\n"


def test_interrupt_failed_action_keeps_the_instance_failed_interrupted(client: Any) -> None:
    job_id = submit(client, task("bad", "exit 1", FailedAction="INTERRUPT"))

    def interrupted() -> Any:
        job = call(client, "DescribeJob", {"JobId": job_id})
        return job if job.JobState == "FAILED_INTERRUPTED" else None

    job = wait_for(interrupted)
    assert job.TaskInstanceMetrics.FailedInterruptedCount == 1
    assert error_code(call, client, "DeleteJob", {"JobId": job_id}) == "ResourceInUse.Job"

    call(client, "TerminateJob", {"JobId": job_id})

    assert wait_job(client, job_id).JobState == "FAILED"
    call(client, "DeleteJob", {"JobId": job_id})


@pytest.mark.local_only  # counts on one_node's one-CPU machine
def test_higher_priority_job_is_dispatched_first_when_capacity_is_short(one_node: Server) -> None:
    client = make_client(one_node.endpoint)
    blocker = submit(client, task("hold", "sleep 1"))
    wait_for(lambda: call(client, "DescribeJob", {"JobId": blocker}).JobState == "RUNNING")
    low = submit(client, task("t", "date +%s%N"), Priority=1)
    low_too = submit(client, task("t", "date +%s%N"), Priority=1)
    high = submit(client, task("t", "date +%s%N"), Priority=90)

    for job_id in (blocker, low, low_too, high):
        wait_job(client, job_id)

    order = sorted(
        (instance(client, j, "t").RunningTime, _started_ns(client, j), j) for j in (low, low_too, high)
    )
    assert [j for _, _, j in sorted(order, key=lambda o: o[1])] == [high, low, low_too]


def _started_ns(client: Any, job_id: str) -> int:
    return int(stdout_of(client, job_id, "t"))


def test_max_concurrent_num_caps_instances_running_at_once(four_nodes: Server, tmp_path: Path) -> None:
    client = make_client(four_nodes.endpoint)
    slots = tmp_path / "running"
    slots.mkdir()
    record = tmp_path / "overlap"
    command = (
        f"touch {slots}/$BATCH_TASK_INSTANCE_INDEX; ls {slots} | wc -l >> {record}; "
        f"sleep 0.3; rm {slots}/$BATCH_TASK_INSTANCE_INDEX"
    )
    job_id = submit(client, task("capped", command, TaskInstanceNum=8, MaxConcurrentNum=2))

    assert wait_job(client, job_id).JobState == "SUCCEED"
    seen = [int(line) for line in record.read_text().split()]
    assert len(seen) == 8
    assert max(seen) == 2, f"instances seen running at once: {seen}"


@pytest.mark.parametrize(
    ("depend_on", "a_command", "b_runs"),
    [
        ("PRE_TASK_SUCCEED", "true", True),
        ("PRE_TASK_SUCCEED", "exit $BATCH_TASK_INSTANCE_INDEX", False),
        ("PRE_TASK_AT_LEAST_PARTLY_SUCCEED", "exit $BATCH_TASK_INSTANCE_INDEX", True),
        ("PRE_TASK_AT_LEAST_PARTLY_SUCCEED", "false", False),
        ("PRE_TASK_FINISHED", "false", True),
    ],
)
def test_task_execution_depend_on(client: Any, depend_on: str, a_command: str, b_runs: bool) -> None:
    job_id = submit(
        client,
        task("A", a_command, TaskInstanceNum=2),
        task("B", "echo ran"),
        Dependences=[{"StartTask": "A", "EndTask": "B"}],
        TaskExecutionDependOn=depend_on,
    )

    wait_job(client, job_id)

    b = instance(client, job_id, "B")
    if b_runs:
        assert (b.TaskInstanceState, b.ExitCode) == ("SUCCEED", 0)
    else:
        assert b.TaskInstanceState == "FAILED"
        assert b.LaunchTime is None
        assert depend_on in b.StateReason
        assert "`A`" in call(client, "DescribeJob", {"JobId": job_id}).StateReason


def test_terminate_job_kills_running_and_fails_queued_instances_within_a_second(one_node: Server) -> None:
    client = make_client(one_node.endpoint)
    job_id = submit(
        client,
        task("long", "sleep 60", TaskInstanceNum=3),
        task("next", "true"),
        Dependences=[{"StartTask": "long", "EndTask": "next"}],
    )
    wait_for(lambda: call(client, "DescribeJob", {"JobId": job_id}).JobState == "RUNNING")

    started = time.monotonic()
    call(client, "TerminateJob", {"JobId": job_id})
    job = wait_job(client, job_id, timeout=5)

    assert time.monotonic() - started < 1.5
    assert job.JobState == "FAILED"
    assert job.StateReason == "Terminated by TerminateJob."
    states = [
        i.TaskInstanceState
        for i in call(client, "DescribeTask", {"JobId": job_id, "TaskName": "long"}).TaskInstanceSet
    ]
    assert states == ["FAILED"] * 3
    assert instance(client, job_id, "next").TaskInstanceState == "FAILED"


def test_terminate_task_instance_stops_only_that_instance(client: Any) -> None:
    job_id = submit(client, task("pair", "sleep $((BATCH_TASK_INSTANCE_INDEX * 60 + 1))", TaskInstanceNum=2))
    wait_for(lambda: instance(client, job_id, "pair", 1).TaskInstanceState == "RUNNING")

    call(client, "TerminateTaskInstance", {"JobId": job_id, "TaskName": "pair", "TaskInstanceIndex": 1})

    job = wait_job(client, job_id, timeout=10)
    assert job.JobState == "FAILED"
    first, second = call(client, "DescribeTask", {"JobId": job_id, "TaskName": "pair"}).TaskInstanceSet
    assert first.TaskInstanceState == "SUCCEED"
    assert (second.TaskInstanceState, second.StateReason) == (
        "FAILED",
        "Terminated by TerminateTaskInstance.",
    )


def test_terminate_rules_for_finished_jobs_and_unknown_instances(client: Any) -> None:
    job_id = submit(client, task("ok", "true"))
    wait_job(client, job_id)

    call(client, "TerminateJob", {"JobId": job_id})  # a no-op on a finished job
    call(client, "TerminateTaskInstance", {"JobId": job_id, "TaskName": "ok", "TaskInstanceIndex": 0})

    assert call(client, "DescribeJob", {"JobId": job_id}).JobState == "SUCCEED"
    bad_index = {"JobId": job_id, "TaskName": "ok", "TaskInstanceIndex": 5}
    assert error_code(call, client, "TerminateTaskInstance", bad_index) == "ResourceNotFound.TaskInstance"
    assert error_code(call, client, "TerminateJob", {"JobId": "job-00000000"}) == "ResourceNotFound.Job"
    assert error_code(call, client, "TerminateJob", {"JobId": "nope"}) == "InvalidParameter.JobIdMalformed"


def test_retry_jobs_reruns_failed_instances_and_their_successors(client: Any, tmp_path: Path) -> None:
    flag = tmp_path / "fixed"
    job_id = submit(
        client,
        task(
            "A",
            f"test -e {flag} && echo fixed || echo broken; "
            f"test $BATCH_TASK_INSTANCE_INDEX = 0 || test -e {flag}",
            TaskInstanceNum=2,
        ),
        task("B", "echo b"),
        Dependences=[{"StartTask": "A", "EndTask": "B"}],
    )
    assert wait_job(client, job_id).JobState == "FAILED"
    assert (
        error_code(call, client, "RetryJobs", {"JobIds": [job_id, "job-00000000"]}) == "ResourceNotFound.Job"
    )
    first_run = instance(client, job_id, "A", 0)

    flag.touch()
    call(client, "RetryJobs", {"JobIds": [job_id]})

    job = wait_job(client, job_id)
    assert job.JobState == "SUCCEED"
    assert job.StateReason == ""
    assert instance(client, job_id, "A", 0).EndTime == first_run.EndTime, "succeeded instances are kept"
    assert instance(client, job_id, "B").TaskInstanceState == "SUCCEED"
    assert stdout_of(client, job_id, "A", 1) == "fixed\n"
    assert error_code(call, client, "RetryJobs", {"JobIds": [job_id]}) == "UnsupportedOperation"


def test_retry_jobs_reruns_an_interrupted_job_and_frees_its_node(client: Any, tmp_path: Path) -> None:
    flag = tmp_path / "fixed"
    job_id = submit(client, task("bad", f"test -e {flag}", FailedAction="INTERRUPT"))
    wait_for(lambda: call(client, "DescribeJob", {"JobId": job_id}).JobState == "FAILED_INTERRUPTED")

    flag.touch()
    call(client, "RetryJobs", {"JobIds": [job_id]})

    assert wait_job(client, job_id).JobState == "SUCCEED"
    call(client, "DeleteJob", {"JobId": job_id})


def test_delete_job_only_when_finished_and_then_it_is_gone(client: Any, server: Server) -> None:
    job_id = submit(client, task("long", "sleep 60"))
    wait_for(lambda: call(client, "DescribeJob", {"JobId": job_id}).JobState == "RUNNING")

    assert error_code(call, client, "DeleteJob", {"JobId": job_id}) == "ResourceInUse.Job"
    call(client, "TerminateJob", {"JobId": job_id})
    wait_job(client, job_id)
    call(client, "DeleteJob", {"JobId": job_id})

    assert error_code(call, client, "DescribeJob", {"JobId": job_id}) == "ResourceNotFound.Job"
    assert error_code(call, client, "DeleteJob", {"JobId": job_id}) == "ResourceNotFound.Job"
    assert call(client, "DescribeJobs", {}).TotalCount == 0
    assert not (server.data_dir / "runs" / job_id).exists()


def test_client_token_makes_submit_idempotent(client: Any) -> None:
    first = submit(client, task("t", "true"), JobName="once")
    params: dict[str, Any] = {
        "Placement": {"Zone": "ap-guangzhou-3"},
        "ClientToken": "token-1",
        "Job": {"JobName": "once", "Tasks": [task("t", "true")]},
    }

    a = call(client, "SubmitJob", params).JobId
    b = call(client, "SubmitJob", params).JobId
    changed = {**params, "Job": {**params["Job"], "JobName": "other"}}

    assert a == b != first
    assert call(client, "DescribeJobs", {}).TotalCount == 2
    assert error_code(call, client, "SubmitJob", changed) == "InvalidParameterValue"


def test_commands_run_in_order_and_stop_at_the_first_failure(client: Any) -> None:
    job_id = submit(
        client,
        {
            **task("seq", "unused"),
            "Application": {
                "DeliveryForm": "LOCAL",
                "Commands": [
                    {"Command": "echo one"},
                    {"Command": "echo two; exit 7"},
                    {"Command": "echo three"},
                ],
            },
        },
    )

    assert wait_job(client, job_id).JobState == "FAILED"
    view = instance(client, job_id, "seq")
    assert view.ExitCode == 7
    assert stdout_of(client, job_id, "seq") == "one\ntwo\n"


def test_command_and_commands_together_are_refused(client: Any) -> None:
    both = {**task("t", "echo"), "Application": {"Command": "echo", "Commands": [{"Command": "echo"}]}}
    params = {"Placement": {"Zone": "ap-guangzhou-3"}, "Job": {"Tasks": [both]}}

    assert error_code(call, client, "SubmitJob", params) == "InvalidParameter.InvalidParameterCombination"


def test_describe_jobs_filters_by_tags(client: Any) -> None:
    render = submit(client, task("t", "true"), Tags=[{"Key": "team", "Value": "render"}])
    science = submit(
        client, task("t", "true"), Tags=[{"Key": "team", "Value": "science"}, {"Key": "cost", "Value": "low"}]
    )
    submit(client, task("t", "true"))

    def ids(filters: list[dict[str, Any]]) -> set[str]:
        return {j.JobId for j in call(client, "DescribeJobs", {"Filters": filters}).JobSet}

    assert ids([{"Name": "tag-key", "Values": ["team"]}]) == {render, science}
    assert ids([{"Name": "tag-value", "Values": ["low", "render"]}]) == {render, science}
    assert ids([{"Name": "tag:team", "Values": ["science"]}]) == {science}
    assert ids([{"Name": "tag-key", "Values": ["team"]}, {"Name": "tag:cost", "Values": ["low"]}]) == {
        science
    }
    assert call(client, "DescribeJob", {"JobId": science}).Tags[1].Value == "low"


def test_unfinished_job_quota_refuses_more_jobs_until_one_finishes(tmp_path: Path) -> None:
    for srv in running(Server(tmp_path / "data", config="[quotas]\nunfinished_jobs = 2\n")):
        client = make_client(srv.endpoint)
        first = submit(client, task("t", "sleep 60"))
        submit(client, task("t", "sleep 60"))

        assert error_code(submit, client, task("t", "true")) == "LimitExceeded.JobQuota"
        call(client, "TerminateJob", {"JobId": first})
        wait_job(client, first)
        submit(client, task("t", "true"))


def test_rate_limit_answers_request_limit_exceeded_per_action(tmp_path: Path) -> None:
    config = "[rate_limits]\nper_second = { DescribeJobs = 3, TerminateTaskInstance = 2 }\n"
    for srv in running(Server(tmp_path / "data", config=config, rate_limited=True)):
        client = make_client(srv.endpoint)
        codes = []
        for _ in range(6):
            try:
                call(client, "DescribeJobs", {})
                codes.append("ok")
            except TencentCloudSDKException as exc:
                codes.append(exc.code)

        assert codes[:3] == ["ok"] * 3
        assert "RequestLimitExceeded" in codes[3:]
        time.sleep(1)
        assert call(client, "DescribeJobs", {}).TotalCount == 0, "the bucket refills"


@pytest.mark.local_only  # counts on one_node's one-CPU machine
def test_an_instance_type_no_host_can_hold_fails_or_waits_as_the_job_says(one_node: Server) -> None:
    """StateIfCreateCvmFailed: FAILED (the default) fails the instances, RUNNABLE keeps them waiting."""
    client = make_client(one_node.endpoint)
    big = {**task("big", "echo ran"), "ComputeEnv": {"EnvData": {"InstanceType": "S5.LARGE8"}}}
    small = task("small", "echo ran")

    failed = wait_job(client, submit(client, big), timeout=15)
    waiting = submit(client, big, small, StateIfCreateCvmFailed="RUNNABLE")
    wait_for(lambda: instance(client, waiting, "small").TaskInstanceState == "SUCCEED")

    assert failed.JobState == "FAILED"
    assert (
        "No host can hold a node of instance type S5.LARGE8 (4 CPU, 8 GiB)"
        in instance(client, failed.JobId, "big").StateReason
    )
    held = instance(client, waiting, "big")
    assert held.TaskInstanceState == "RUNNABLE", "a task waiting for a host never blocks one that fits"
    assert "No host can hold" in held.StateReason
    call(client, "TerminateJob", {"JobId": waiting})


@pytest.mark.local_only  # counts on one_node's one-CPU machine
def test_starting_means_a_node_is_assigned_never_queued_in_the_executor(one_node: Server) -> None:
    """One node fits the host: never more than one instance is STARTING or RUNNING, and every one
    of them ran on a node of this host's making. Each runs longer than any round trip of the
    scheduler, so none is queued on the node behind another (docs/semantics.md, States)."""
    client = make_client(one_node.endpoint)
    job_id = submit(client, task("many", "sleep 0.3", TaskInstanceNum=20))

    peak = 0
    while (job := call(client, "DescribeJob", {"JobId": job_id})).JobState != "SUCCEED":
        metrics = job.TaskInstanceMetrics
        peak = max(peak, metrics.StartingCount + metrics.RunningCount)
        time.sleep(0.02)

    assert peak == 1
    nodes = {
        i.ComputeNodeInstanceId
        for i in call(
            client, "DescribeTask", {"JobId": job_id, "TaskName": "many", "Limit": 100}
        ).TaskInstanceSet
    }
    assert len(nodes) <= 3, f"a later instance of the task reuses its node: {nodes}"
    assert all(n and n.startswith("ins-") for n in nodes)


@pytest.mark.local_only  # counts on one_node's one-CPU machine
def test_a_running_instances_log_is_readable_and_a_node_keeps_no_log_of_an_earlier_one(
    one_node: Server,
) -> None:
    """Instance 0 speaks and ends; instance 1 runs after it on the same node, silent, then speaks."""
    client = make_client(one_node.endpoint)
    command = 'if [ "$BATCH_TASK_INSTANCE_INDEX" = 0 ]; then echo zero; else sleep 2; echo one; sleep 30; fi'
    job_id = submit(client, task("t", command, TaskInstanceNum=2))

    wait_for(lambda: instance(client, job_id, "t", 1).TaskInstanceState == "RUNNING")
    assert stdout_of(client, job_id, "t", 0) == "zero\n"
    assert stdout_of(client, job_id, "t", 1) == "", "nothing of instance 0 shows in instance 1's log"
    wait_for(lambda: stdout_of(client, job_id, "t", 1) == "one\n")
    call(client, "TerminateJob", {"JobId": job_id})


@pytest.mark.local_only  # counts on one_node's one-CPU machine
def test_each_instance_starts_in_an_empty_working_folder(one_node: Server) -> None:
    """On one node in turn: 0 leaves a file behind, 1 removes its own folder, 2 and 3 look around.

    All four run in the node's one working folder (their pwd on stderr shows the test covers that),
    and each still finds it empty. (In the sandbox the folder is a mount point the command cannot
    remove, so 1's rmdir fails there, quietly.)
    """
    client = make_client(one_node.endpoint)
    command = (
        'sleep 0.3; pwd >&2; case "$BATCH_TASK_INSTANCE_INDEX" in '
        '0) touch left-behind ;; 1) ls -A; rmdir "$PWD" 2>/dev/null || : ;; *) ls -A ;; esac'
    )
    job_id = submit(client, task("t", command, TaskInstanceNum=4))

    assert wait_job(client, job_id).JobState == "SUCCEED"
    logs = call(client, "DescribeTaskLogs", {"JobId": job_id, "TaskName": "t"}).TaskInstanceLogSet
    out = [decode_log(log.StdoutLog) for log in logs]
    folders = [decode_log(log.StderrLog) for log in logs]
    assert out[1:] == ["", "", ""]
    assert len(set(folders)) == 1, folders
