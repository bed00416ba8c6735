"""Whatever a client sends, the reply is one the SDK can read: fuzzing every action over real HTTP.

Each request (see ``fuzzing``) goes to one real server, TC3-signed, as a JSON POST or as a GET
flattened by the SDK's own code. Every reply must be HTTP 200, exactly ``application/json``, with a
RequestId; an error code must be one of ours and never InternalError; and afterwards the server
still runs a job. Runs are derandomized, so CI sees the same examples every time. Regressions of
the kind the fuzzer finds are pinned first as plain tests, so that a failure names its cause.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fuzzing import (
    INT64_MAX,
    UNKNOWN_JOB,
    VALID_SUBMIT,
    Jobs,
    Wire,
    actions,
    check_reply,
    methods,
    mutated,
    raw_bodies,
    raw_queries,
    requests_for,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tencentcloud.batch.v20170312 import batch_client
from test_protocol_errors import error_code

from batchyard.api.actions import ACTIONS
from conftest import ZONE, Server, submit, task, wait_job

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def wire(srv: Server, sdk: batch_client.BatchClient) -> Iterator[Wire]:
    with httpx.Client(timeout=60) as http:
        yield Wire(srv, http, sdk)


@pytest.fixture(scope="module")
def known_jobs(sdk: batch_client.BatchClient) -> Jobs:
    read = submit(sdk, task("a", "true", TaskInstanceNum=2), task("b", "true"))
    victim = submit(sdk, task("a", "sleep 2", TaskInstanceNum=2), task("b", "false"))
    wait_job(sdk, read)
    return Jobs(read, victim)


# ---------------------------------------------------------------------------------------------------
# Regressions of the kind the fuzzer finds, pinned so that a failure names its cause.


def test_hand_signed_get_and_post_succeed(wire: Wire) -> None:
    """Proves the fuzzer's requests are signed right, so its refusals are about their parameters."""
    for method in ("GET", "POST"):
        assert "Error" not in check_reply(wire.send(method, "DescribeJobs", {"Limit": 1}))


SURROGATE_CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "job-id": ("DescribeJob", {"JobId": "\ud800"}, "JobId"),
    "job-ids": ("RetryJobs", {"JobIds": [UNKNOWN_JOB, "job-\udfff"]}, "JobIds.1"),
    "filter-name": ("DescribeJobs", {"Filters": [{"Name": "\udcff", "Values": ["x"]}]}, "Filters.0.Name"),
    "task-name": ("DescribeTask", {"JobId": UNKNOWN_JOB, "TaskName": "a\ud800"}, "TaskName"),
    "zone": ("SubmitJob", {"Placement": {"Zone": "\ud800"}, "Job": {"Tasks": []}}, "Placement.Zone"),
    "dependences": (
        "SubmitJob",
        {"Placement": {"Zone": ZONE}, "Job": {"Tasks": [], "Dependences": [{"StartTask": "\ud800"}]}},
        "Job.Dependences.0.StartTask",
    ),
    "job-name": ("SubmitJob", {"Placement": {"Zone": ZONE}, "Job": {"JobName": "\ud800"}}, "Job.JobName"),
}


@pytest.mark.parametrize(("action", "params", "path"), SURROGATE_CASES.values(), ids=SURROGATE_CASES.keys())
def test_lone_surrogate_in_any_string_is_invalid_parameter_naming_it(
    wire: Wire, action: str, params: dict[str, Any], path: str
) -> None:
    error = check_reply(wire.post(action, json.dumps(params).encode()))["Error"]
    assert error == {
        "Code": "InvalidParameter",
        "Message": f"The parameter `{path}` is not valid Unicode text: it holds a lone surrogate.",
    }


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_nul_in_any_string_is_invalid_parameter_value_naming_it(wire: Wire, method: str) -> None:
    """Sent as is: were it accepted, the runner would be handed a command it cannot pass to exec."""
    params = {"Placement": {"Zone": ZONE}, "Job": {"JobName": "nul", "Tasks": [task("a", "true\x00")]}}
    if method == "POST":
        response = wire.post("SubmitJob", json.dumps(params).encode())
    else:
        response = wire.get("SubmitJob", wire.query(params, defused=False))
    assert check_reply(response)["Error"] == {
        "Code": "InvalidParameterValue",
        "Message": "The parameter `Job.Tasks.0.Application.Command` must not contain NUL bytes.",
    }


@pytest.mark.parametrize("name", ["Job\ud800", "Job\x00"])
def test_member_name_that_is_not_text_is_unknown_parameter(wire: Wire, name: str) -> None:
    reply = check_reply(wire.post("DescribeJob", json.dumps({"JobId": UNKNOWN_JOB, name: 1}).encode()))
    assert reply["Error"] == {
        "Code": "UnknownParameter",
        "Message": f"The parameter `{name}` is not recognized.",
    }


TOO_BIG = f"expected an integer no greater than {INT64_MAX}"
PAST_INT64_CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "offset": ("DescribeTask", {"Offset": 2**63}, f"`Offset` is out of range: {TOO_BIG}"),
    "indexes": (
        "DescribeTaskLogs",
        {"TaskInstanceIndexes": [0, 2**64]},
        f"`TaskInstanceIndexes.1` is out of range: {TOO_BIG}",
    ),
    "index": (
        "TerminateTaskInstance",
        {"TaskInstanceIndex": -(2**63) - 1},
        f"`TaskInstanceIndex` is out of range: expected an integer no less than {-(2**63)}",
    ),
    "digits": (
        "DescribeTask",
        {"Limit": "9" * 5000},
        "`Limit` is out of range: it has more digits than any 64-bit integer",
    ),
}


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize(
    ("action", "extra", "message"), PAST_INT64_CASES.values(), ids=PAST_INT64_CASES.keys()
)
def test_number_past_the_64_bit_range_is_invalid_parameter_value_naming_it(
    wire: Wire, known_jobs: Jobs, method: str, action: str, extra: dict[str, Any], message: str
) -> None:
    """These reached SQLite, which cannot bind them: the task is real so the lookup gets that far."""
    params = {"JobId": known_jobs.read, "TaskName": "a", **extra}
    error = check_reply(wire.send(method, action, params))["Error"]
    assert error == {"Code": "InvalidParameterValue", "Message": f"The parameter {message}."}


def test_largest_int64_still_reaches_the_service(wire: Wire, known_jobs: Jobs) -> None:
    real_task = {"JobId": known_jobs.read, "TaskName": "a"}
    logs = wire.send("POST", "DescribeTaskLogs", {**real_task, "TaskInstanceIndexes": [INT64_MAX]})
    assert check_reply(logs)["Error"]["Code"] == "ResourceNotFound.TaskInstance"
    page = wire.send("GET", "DescribeTask", {**real_task, "Offset": INT64_MAX})
    assert check_reply(page)["TaskInstanceSet"] == []


@pytest.mark.parametrize("method", ["PUT", "OPTIONS", "PATCH", "FOO"])
def test_any_http_method_is_answered_with_a_json_envelope(wire: Wire, method: str) -> None:
    assert error_code(wire.http.request(method, wire.srv.url + "/")) == "UnsupportedProtocol"


def test_get_name_nested_deeper_than_any_parameter_is_invalid_parameter(wire: Wire) -> None:
    assert error_code(wire.get("DescribeJobs", "A." * 5000 + "B=x")) == "InvalidParameter"


def test_describe_jobs_with_a_thousand_filters_is_refused_not_crashed(wire: Wire) -> None:
    """One SQL condition per filter: a thousand passed SQLite's expression depth limit (InternalError)."""
    filters = [{"Name": "job-state", "Values": ["SUCCEED"]}] * 1000
    reply = check_reply(wire.send("POST", "DescribeJobs", {"Filters": filters}))
    assert reply["Error"]["Code"] == "InvalidParameterValue.LimitExceeded"


# ---------------------------------------------------------------------------------------------------
# Properties.


@pytest.mark.parametrize("action", sorted(ACTIONS))
@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_any_request_to_any_action_gets_a_readable_reply(
    wire: Wire, known_jobs: Jobs, action: str, data: st.DataObject
) -> None:
    """Forty examples for each action rather than four hundred shared at random, so none is missed."""
    params = data.draw(requests_for(action, known_jobs))
    check_reply(wire.send(data.draw(methods), action, params))


@settings(FUZZ, max_examples=200)
@given(body=mutated(st.just(VALID_SUBMIT)), method=methods)
def test_mutated_submit_job_gets_a_readable_reply(wire: Wire, body: dict[str, Any], method: str) -> None:
    """A submit that passes must also describe: the service stored and can render what it accepted."""
    reply = check_reply(wire.send(method, "SubmitJob", body))
    if "JobId" in reply:
        info = check_reply(wire.send(method, "DescribeJobSubmitInfo", {"JobId": reply["JobId"]}))
        assert "Error" not in info


@settings(FUZZ, max_examples=150)
@given(data=st.data())
def test_garbled_bodies_and_queries_get_a_readable_reply(
    wire: Wire, known_jobs: Jobs, data: st.DataObject
) -> None:
    action = data.draw(actions)
    if data.draw(methods) == "POST":
        check_reply(wire.post(action, data.draw(raw_bodies(known_jobs))))
    else:
        check_reply(wire.get(action, data.draw(raw_queries)))


def test_server_still_runs_a_job_to_success_after_the_fuzzing(sdk: batch_client.BatchClient) -> None:
    job_id = submit(sdk, task("after", "true"))
    assert wait_job(sdk, job_id).JobState == "SUCCEED"
