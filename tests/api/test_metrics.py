"""``GET /metrics``: a real server scraped before, during and after a job, its figures moving with the job."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from conftest import ZONE, Server, call, make_client, running, submit, task, wait_for, wait_job

# Room for the job's five anonymous nodes beside the environment's one (S2.SMALL1: 1 CPU, 1 GiB each).
CONFIG = "[local]\ncpus = 8\nmemory_gib = 8\n"

Labels = frozenset[tuple[str, str]]
Scrape = dict[tuple[str, Labels], float]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from running(Server(tmp_path_factory.mktemp("metrics") / "data", config=CONFIG))


def scrape(server: Server) -> Scrape:
    """Every sample of the page, by name and labels."""
    reply = httpx.get(server.url + "/metrics", timeout=10)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def value(page: Scrape, name: str, **labels: str) -> float:
    return page.get((name, frozenset(labels.items())), 0.0)


def grew(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def sdk_code(request: Callable[[], Any]) -> str:
    with pytest.raises(TencentCloudSDKException) as info:
        request()
    return str(info.value.code)


def env_task(name: str, command: str, env_id: str, instances: int) -> dict[str, Any]:
    application = {"DeliveryForm": "LOCAL", "Command": command}
    return {"TaskName": name, "TaskInstanceNum": instances, "Application": application, "EnvId": env_id}


def test_metrics_move_with_a_job_and_the_requests_that_drive_it(srv: Server) -> None:
    client = make_client(srv.endpoint)
    before = scrape(srv)
    assert value(before, "batchyard_store_readable") == 1
    bad_id = sdk_code(lambda: call(client, "DescribeJob", {"JobId": "not-a-job"}))
    assert sdk_code(lambda: client.call_json("NoSuchAction", {})) == "InvalidAction"
    env = {"EnvName": "pool", "DesiredComputeNodeCount": 1, "EnvData": {"InstanceType": "S2.SMALL1"}}
    env_id = call(client, "CreateComputeEnv", {"ComputeEnv": env, "Placement": {"Zone": ZONE}}).EnvId
    wait_for(lambda: value(scrape(srv), "batchyard_nodes", env_id=env_id, state="CREATED") == 1)

    job_id = submit(
        client,
        task("sleepers", "sleep 1", TaskInstanceNum=5),
        task("failing", "exit 3"),
        env_task("queued", "sleep 1", env_id, 2),  # one node for two: one waits in the queue
    )

    def running_with_a_queue() -> Scrape | None:
        page = scrape(srv)
        queued = value(page, "batchyard_queue_depth", env_id=env_id) == 1
        return page if queued and value(page, "batchyard_instances", state="RUNNING") > 0 else None

    during = wait_for(running_with_a_queue, timeout=20)
    assert value(during, "batchyard_nodes", env_id=env_id, state="RUNNING") == 1
    assert grew(before, during, "batchyard_queue_wait_seconds_count") > 0
    assert grew(before, during, "batchyard_dispatch_latency_seconds_count") > 0
    assert wait_job(client, job_id).JobState == "FAILED"
    after = scrape(srv)

    for state, n in {"SUCCEED": 7, "FAILED": 1, "RUNNING": 0, "RUNNABLE": 0}.items():
        assert value(after, "batchyard_instances", state=state) == n, state
    assert value(after, "batchyard_queue_depth", env_id=env_id) == 0
    assert value(after, "batchyard_queue_depth", env_id="anonymous") == 0
    assert value(after, "batchyard_nodes", env_id=env_id, state="CREATED") == 1
    assert grew(before, after, "batchyard_attempts_ended_total", failure_class="USER") == 1
    assert grew(before, after, "batchyard_attempts_ended_total", failure_class="NONE") == 7
    assert grew(before, after, "batchyard_attempts_ended_total", failure_class="SYSTEM") == 0
    assert grew(before, after, "batchyard_queue_wait_seconds_count") == 8
    assert grew(before, after, "batchyard_dispatch_latency_seconds_count") == 8
    assert grew(during, after, "batchyard_scheduler_tick_duration_seconds_count") > 0

    requests = "batchyard_api_requests_total"
    assert grew(before, after, requests, action="SubmitJob", code="OK") == 1
    assert grew(before, after, requests, action="CreateComputeEnv", code="OK") == 1
    assert grew(before, after, requests, action="DescribeJob", code=bad_id) == 1
    assert grew(before, after, requests, action="unknown", code="InvalidAction") == 1
    assert grew(before, after, requests, action="DescribeJob", code="OK") >= 1
    assert grew(before, after, "batchyard_api_request_duration_seconds_count", action="SubmitJob") == 1
    assert not any(dict(labels).get("action") == "NoSuchAction" for _, labels in after), (
        "an unknown Action never becomes a label"
    )


def test_metrics_need_no_credentials_and_answer_openmetrics_when_asked(srv: Server) -> None:
    accept = {"Accept": "application/openmetrics-text; version=1.0.0"}
    reply = httpx.get(srv.url + "/metrics", headers=accept, timeout=10)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/openmetrics-text")
    assert reply.text.endswith("# EOF\n")
    assert "batchyard_instances" in reply.text
