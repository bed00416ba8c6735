"""Notifications end to end: a real server, the official SDK, and a real HTTP receiver on loopback that
plays each topic's webhook (refusing deliveries with HTTP 500 when a test says so).

What a user configures (``Notifications`` naming ``[notifications.topics]``) arrives as the documented
message, one event each, exactly the events configured; refused deliveries are retried; events
stored before a ``kill -9`` are delivered after the restart.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from conftest import (
    REGION,
    ZONE,
    Server,
    call,
    make_client,
    running,
    submit,
    task,
    wait_for,
    wait_job,
)
from webhooks import Receiver, receiving

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
VARS = [{"Name": "team", "Value": "render"}, {"Name": "ticket", "Value": "42"}]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from receiving()


def config(receiver: Receiver) -> str:
    """Topics jobs, envs and quiet on the receiver; retries fast, so refusals cost the test little."""
    topics = "\n".join(f'{name} = "{receiver.url("/" + name)}"' for name in ("jobs", "envs", "quiet"))
    return (
        "[local]\ncpus = 4\nmemory_gib = 4\n"
        "[notifications]\nretry_initial_s = 0.2\nretry_max_s = 1\n"
        f"[notifications.topics]\n{topics}\n"
    )


@pytest.fixture
def server(tmp_path: Path, receiver: Receiver) -> Iterator[Server]:
    yield from running(Server(tmp_path / "data", config=config(receiver)))


def notify(topic: str, *events: str, event_vars: list[dict[str, str]] | None = None) -> dict[str, Any]:
    configs = [{"EventName": e, "EventVars": VARS if event_vars is None else event_vars} for e in events]
    return {"TopicName": topic, "EventConfigs": configs}


def sdk_code(action: Callable[[], Any]) -> str:
    with pytest.raises(TencentCloudSDKException) as info:
        action()
    return f"{info.value.code}: {info.value.message}"


def metric(server: Server, name: str, **labels: str) -> float:
    page = httpx.get(server.url + "/metrics", timeout=10).text
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str | None, int | None]]:
    """(event, task, index) of each event, sorted: what arrived, whatever the order."""
    found = [
        (e["EventName"], e["Batch"].get("TaskName"), e["Batch"].get("TaskInstanceIndex")) for e in events
    ]
    return sorted(found, key=lambda f: (f[0], f[1] or "", -1 if f[2] is None else f[2]))


def assert_documented_shape(event: dict[str, Any], event_vars: list[dict[str, str]]) -> None:
    assert list(event) == ["EventVersion", "EventTime", "Region", "Batch", "EventName", "EventVars"]
    assert (event["EventVersion"], event["Region"], event["EventVars"]) == ("1.0", REGION, event_vars)
    assert ISO.fullmatch(event["EventTime"]), event["EventTime"]


JOB_EVENTS = [
    f"{scope}_{state}"
    for scope in ("JOB", "TASK", "TASK_INSTANCE")
    for state in ("RUNNING", "SUCCEED", "FAILED", "FAILED_INTERRUPTED")
]


def test_job_task_and_instance_events_arrive_once_the_sink_stops_refusing(
    server: Server, receiver: Receiver
) -> None:
    """One instance succeeds, one fails; the first three deliveries are refused with HTTP 500."""
    receiver.refuse = 3
    client = make_client(server.endpoint)
    notifications = [notify("jobs", *JOB_EVENTS), notify("quiet", "JOB_SUCCEED", event_vars=[])]
    job_id = submit(
        client,
        task("ok", "sleep 1"),
        task("bad", "sleep 1; exit 3"),
        JobName="notified",
        Notifications=notifications,
    )
    assert wait_job(client, job_id).JobState == "FAILED"
    wait_for(lambda: len(receiver.events("/jobs")) >= 10, timeout=30)
    time.sleep(0.5)  # anything more would arrive now

    events = receiver.events("/jobs")
    assert summary(events) == [
        ("JOB_FAILED", None, None),
        ("JOB_RUNNING", None, None),
        ("TASK_FAILED", "bad", None),
        ("TASK_INSTANCE_FAILED", "bad", 0),
        ("TASK_INSTANCE_RUNNING", "bad", 0),
        ("TASK_INSTANCE_RUNNING", "ok", 0),
        ("TASK_INSTANCE_SUCCEED", "ok", 0),
        ("TASK_RUNNING", "bad", None),
        ("TASK_RUNNING", "ok", None),
        ("TASK_SUCCEED", "ok", None),
    ]
    for event in events:
        assert_documented_shape(event, VARS)
    by_name = {(e["EventName"], e["Batch"].get("TaskName")): e["Batch"] for e in events}
    job = {"JobId": job_id, "JobName": "notified"}
    assert by_name[("JOB_FAILED", None)] == {**job, "JobState": "FAILED"}
    assert by_name[("TASK_SUCCEED", "ok")] == {**job, "TaskName": "ok", "TaskState": "SUCCEED"}
    assert by_name[("TASK_INSTANCE_FAILED", "bad")] == {
        **job,
        "TaskName": "bad",
        "TaskInstanceState": "FAILED",
        "TaskInstanceIndex": 0,
    }
    assert receiver.events("/quiet") == []  # JOB_SUCCEED never happened; nodes were never asked for

    deliveries = [d for d in receiver.accepted if d.path == "/jobs"]
    assert all(d.headers["Content-Type"] == "application/json" for d in deliveries)
    assert len({d.headers["X-Batchyard-Event-Id"] for d in deliveries}) == 10
    assert receiver.refused == 3
    assert metric(server, "batchyard_notifications_delivered_total", topic="jobs") == 10
    assert metric(server, "batchyard_notification_deliveries_failed_total", topic="jobs") == 3
    assert metric(server, "batchyard_notification_backlog", topic="jobs") == 0


ENV_EVENTS = [
    "COMPUTE_ENV_CREATED",
    "COMPUTE_ENV_DELETED",
    "COMPUTE_NODE_CREATED",
    "COMPUTE_NODE_RUNNING",
    "COMPUTE_NODE_DELETING",
]


def env_request(**members: Any) -> dict[str, Any]:
    env = {
        "EnvName": "pool",
        "EnvType": "MANAGED",
        "DesiredComputeNodeCount": 1,
        "EnvData": {"InstanceType": "S2.SMALL1"},
        **members,
    }
    return {"Placement": {"Zone": ZONE}, "ComputeEnv": env}


def test_environment_and_node_events_arrive_with_the_documented_members(
    server: Server, receiver: Receiver
) -> None:
    client = make_client(server.endpoint)
    request = env_request(Notifications=[notify("envs", *ENV_EVENTS)])
    env_id = call(client, "CreateComputeEnv", request).EnvId
    wait_for(
        lambda: call(client, "DescribeComputeEnv", {"EnvId": env_id}).ComputeNodeMetrics.CreatedCount == 1
    )
    node = call(client, "DescribeComputeEnv", {"EnvId": env_id}).ComputeNodeSet[0]
    in_env = {k: v for k, v in task("t", "sleep 1").items() if k != "ComputeEnv"}
    job_id = submit(client, {**in_env, "EnvId": env_id})
    assert wait_job(client, job_id).JobState == "SUCCEED"
    call(client, "ModifyComputeEnv", {"EnvId": env_id, "EnvName": "renamed"})
    call(client, "DeleteJob", {"JobId": job_id})
    call(client, "DeleteComputeEnv", {"EnvId": env_id})
    wait_for(lambda: len(receiver.events("/envs")) >= 5, timeout=30)
    time.sleep(0.5)

    events = receiver.events("/envs")
    assert [e["EventName"] for e in events] == [
        "COMPUTE_ENV_CREATED",
        "COMPUTE_NODE_CREATED",
        "COMPUTE_NODE_RUNNING",
        "COMPUTE_NODE_DELETING",
        "COMPUTE_ENV_DELETED",
    ]
    for event in events:
        assert_documented_shape(event, VARS)
    assert events[0]["Batch"] == {"EnvId": env_id, "EnvName": "pool"}
    assert events[4]["Batch"] == {"EnvId": env_id, "EnvName": "renamed"}
    created = events[1]["Batch"]
    assert list(created) == [  # the members of the documented example, in its order
        "ComputeNodeId",
        "EnvId",
        "ComputeNodeState",
        "Mem",
        "ResourceCreatedTime",
        "EnvName",
        "ComputeNodeInstanceId",
        "Cpu",
    ]
    assert created == {
        "ComputeNodeId": node.ComputeNodeId,
        "EnvId": env_id,
        "ComputeNodeState": "CREATED",
        "Mem": 1,
        "ResourceCreatedTime": created["ResourceCreatedTime"],
        "EnvName": "pool",
        "ComputeNodeInstanceId": node.ComputeNodeInstanceId,
        "Cpu": 1,
    }
    assert ISO.fullmatch(created["ResourceCreatedTime"])
    assert events[2]["Batch"] == {**created, "ComputeNodeState": "RUNNING"}
    assert events[3]["Batch"] == {**created, "ComputeNodeState": "DELETING", "EnvName": "renamed"}


def test_a_job_hears_of_the_nodes_made_for_it(server: Server, receiver: Receiver) -> None:
    """An anonymous environment's nodes are the job's: their events name the job and the task."""
    client = make_client(server.endpoint)
    events = ["COMPUTE_NODE_CREATED", "COMPUTE_NODE_DELETING", "JOB_SUCCEED"]
    job_id = submit(client, task("t", "true"), Notifications=[notify("jobs", *events, event_vars=[])])
    assert wait_job(client, job_id).JobState == "SUCCEED"
    wait_for(lambda: len(receiver.events("/jobs")) >= 3, timeout=30)
    time.sleep(0.5)

    found = receiver.events("/jobs")
    assert sorted(e["EventName"] for e in found) == sorted(events)
    node = next(e["Batch"] for e in found if e["EventName"] == "COMPUTE_NODE_CREATED")
    assert (node["EnvId"], node["EnvName"], node["JobId"], node["TaskName"]) == (None, None, job_id, "t")
    assert (node["Cpu"], node["Mem"], node["ComputeNodeState"]) == (1, 1, "CREATED")


def test_events_stored_before_a_kill_are_delivered_after_the_restart(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.refuse = 10**9  # the sink is down
    server = Server(tmp_path / "data", config=config(receiver))
    server.start()
    try:
        client = make_client(server.endpoint)
        request = env_request(
            DesiredComputeNodeCount=0, Notifications=[notify("envs", "COMPUTE_ENV_CREATED")]
        )
        env_id = call(client, "CreateComputeEnv", request).EnvId
        wait_for(lambda: receiver.refused >= 2, timeout=30)  # tried, refused, tried again
        server.stop(signal.SIGKILL)
        receiver.refuse = 0
        server.start()
        wait_for(lambda: receiver.events("/envs"), timeout=30)
        time.sleep(0.5)
        events = receiver.events("/envs")
        assert [(e["EventName"], e["Batch"]) for e in events] == [
            ("COMPUTE_ENV_CREATED", {"EnvId": env_id, "EnvName": "pool"})
        ]
    finally:
        server.stop()


def test_a_topic_the_server_does_not_deliver_to_is_refused(server: Server, receiver: Receiver) -> None:
    client = make_client(server.endpoint)
    unknown = [notify("nowhere", "JOB_SUCCEED")]
    refused = sdk_code(lambda: submit(client, task("t", "true"), Notifications=unknown))
    assert refused.startswith("InvalidParameter.NotificationTopicName: ")
    assert "[notifications.topics]" in refused
    request = env_request(Notifications=[notify("nowhere", "COMPUTE_ENV_CREATED")])
    refused = sdk_code(lambda: call(client, "CreateComputeEnv", request))
    assert refused.startswith("InvalidParameter.NotificationTopicName: ")
    assert call(client, "DescribeJobs", {}).TotalCount == 0
    assert call(client, "DescribeComputeEnvs", {}).TotalCount == 0
