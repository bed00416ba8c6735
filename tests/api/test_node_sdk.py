"""The official Node.js SDK, unchanged, against the server: tests/node/call.js drives its CommonClient.

That SDK sends ``Host: name:port`` but signs ``host:name``, and takes the credential scope's service from
the endpoint's first label, so it is given the endpoint ``batch.localhost:PORT`` and told to connect to
127.0.0.1, as README "Using it" shows. Each flow runs with POST (a JSON body) and GET (a flattened query).
``make test`` installs node, npm and the pinned SDK; without them these tests fail, never skip.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import REGION, SECRET_ID, SECRET_KEY, ZONE, Server, decode_log, wait_for

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SDK_PACKAGE = NODE_DIR / "node_modules" / "tencentcloud-sdk-nodejs-common" / "package.json"
JOB_ID = re.compile(r"job-[a-z0-9]{8}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
FinishedJob = Callable[[], dict[str, Any]]
COMMAND = """printf '%s\\n' "hello from node" """.strip()


def node_binary() -> str:
    """The node executable, failing the test with what to install when it or the SDK is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: `make test` installs nodejs and npm (scripts/install-system-deps)")
    if not SDK_PACKAGE.is_file():
        pytest.fail(f"the Node.js SDK is not installed: run `npm ci --prefix {NODE_DIR}` (`make test` does)")
    return node


def node_call(
    srv: Server, method: str, action: str, params: dict[str, Any], endpoint: str | None = None
) -> dict[str, Any]:
    """One call through call.js: ``{"Response": …}`` or ``{"Error": …}``, as the SDK resolved or threw."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENCENTCLOUD_", "BATCHYARD_"))}
    env.update(
        TENCENTCLOUD_SECRET_ID=SECRET_ID,
        TENCENTCLOUD_SECRET_KEY=SECRET_KEY,
        TENCENTCLOUD_REGION=REGION,
        BATCHYARD_CONNECT_ADDRESS="127.0.0.1",  # batch.localhost does not resolve on every machine
    )
    target = endpoint or f"batch.localhost:{srv.port}"
    argv = [node_binary(), str(NODE_DIR / "call.js"), target, method, action, json.dumps(params)]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode in (0, 1), result.stderr
    return dict(json.loads(result.stdout))


def response(srv: Server, method: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
    output = node_call(srv, method, action, params)
    assert "Response" in output, output
    assert UUID.fullmatch(output["Response"]["RequestId"])
    return dict(output["Response"])


def error(
    srv: Server, method: str, action: str, params: dict[str, Any], endpoint: str | None = None
) -> dict[str, Any]:
    output = node_call(srv, method, action, params, endpoint)
    assert "Error" in output, output
    assert UUID.fullmatch(output["Error"]["RequestId"])
    return dict(output["Error"])


@pytest.fixture(scope="module", params=["POST", "GET"])
def method(request: pytest.FixtureRequest) -> str:
    """The SDK's ``httpProfile.reqMethod``: POST sends a JSON body, GET flattens the same into the query."""
    return str(request.param)


@pytest.fixture(scope="module")
def finished_job(srv: Server, method: str) -> FinishedJob:
    """A one-task job submitted, then polled to its end, through the Node.js SDK: its last DescribeJob.

    Made on first use, once per method, so a missing node fails the tests that need it, not their setup.
    """

    @functools.cache
    def submitted_and_finished() -> dict[str, Any]:
        task = {
            "TaskName": "hello",
            "TaskInstanceNum": 1,
            "Application": {"DeliveryForm": "LOCAL", "Command": COMMAND},
            "ComputeEnv": {"EnvType": "MANAGED", "EnvData": {"InstanceType": "S2.SMALL1"}},
        }
        params = {"Placement": {"Zone": ZONE}, "Job": {"JobName": "from node", "Tasks": [task]}}
        job_id = response(srv, method, "SubmitJob", params)["JobId"]
        assert JOB_ID.fullmatch(job_id)
        return dict(wait_for(lambda: finished(srv, method, job_id), timeout=60, interval=0.2))

    return submitted_and_finished


def finished(srv: Server, method: str, job_id: str) -> dict[str, Any] | None:
    job = response(srv, method, "DescribeJob", {"JobId": job_id})
    return job if job["JobState"] in ("SUCCEED", "FAILED") else None


def test_submitted_job_succeeds(finished_job: FinishedJob) -> None:
    job = finished_job()
    assert (job["JobName"], job["JobState"], job["Zone"]) == ("from node", "SUCCEED", ZONE)
    assert [t["TaskName"] for t in job["TaskSet"]] == ["hello"]


def test_describe_task_shows_the_succeeded_instance(
    srv: Server, method: str, finished_job: FinishedJob
) -> None:
    params = {"JobId": finished_job()["JobId"], "TaskName": "hello"}
    task = response(srv, method, "DescribeTask", params)
    assert task["TaskState"] == "SUCCEED"
    assert [(i["TaskInstanceIndex"], i["TaskInstanceState"]) for i in task["TaskInstanceSet"]] == [
        (0, "SUCCEED")
    ]


def test_describe_task_logs_show_the_commands_stdout(
    srv: Server, method: str, finished_job: FinishedJob
) -> None:
    params = {"JobId": finished_job()["JobId"], "TaskName": "hello", "TaskInstanceIndexes": [0]}
    logs = response(srv, method, "DescribeTaskLogs", params)["TaskInstanceLogSet"]
    assert decode_log(logs[0]["StdoutLog"]) == "hello from node\n"


def test_missing_job_is_resource_not_found(srv: Server, method: str) -> None:
    assert error(srv, method, "DescribeJob", {"JobId": "job-abcdefgh"})["Code"] == "ResourceNotFound.Job"


def test_bare_address_endpoint_is_refused_with_a_hint_at_the_batch_label(srv: Server) -> None:
    """The SDK scopes ``127.0.0.1:PORT`` to service ``127``; the message says which endpoint form works."""
    refused = error(srv, "POST", "DescribeJobs", {}, endpoint=f"127.0.0.1:{srv.port}")
    assert refused["Code"] == "AuthFailure.SignatureFailure"
    assert "batch.<host>:<port>" in refused["Message"]
