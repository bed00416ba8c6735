"""``jobs``, ``job``, ``terminate``, ``retry`` and ``delete``, against the real server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.batch.v20170312 import batch_client

from cli.helpers import invoke, json_of, ok, one_red_line, rows
from conftest import Server, call, submit, task, unique_sleep, wait_for, wait_job


@pytest.fixture(scope="module")
def finished(sdk: batch_client.BatchClient) -> dict[str, str]:
    """Three finished jobs: two tagged, one failed with a DAG of four tasks."""
    ids = {
        "green": submit(sdk, task("A", "true"), JobName="green", Tags=[{"Key": "team", "Value": "blue"}]),
        "other": submit(sdk, task("A", "true"), JobName="other", Tags=[{"Key": "team", "Value": "red"}]),
        "dag": submit(
            sdk,
            task("fetch", "true"),
            task("left", "true"),
            task("right", "echo no; exit 4", TaskInstanceNum=2),
            task("join", "true"),
            JobName="dag",
            Dependences=[
                {"StartTask": "fetch", "EndTask": "left"},
                {"StartTask": "fetch", "EndTask": "right"},
                {"StartTask": "left", "EndTask": "join"},
                {"StartTask": "right", "EndTask": "join"},
            ],
            TaskExecutionDependOn="PRE_TASK_FINISHED",
        ),
    }
    for job_id in ids.values():
        wait_job(sdk, job_id)
    return ids


def listed(output: str) -> list[str]:
    """The job ids of a ``jobs`` table, in its order."""
    return [line.split()[0] for line in output.splitlines() if line.startswith("job-")]


def test_jobs_lists_jobs_newest_first_with_state_and_tasks(
    srv: Server, home: Path, finished: dict[str, str]
) -> None:
    output = ok(invoke("jobs", home=home, srv=srv))
    assert output.splitlines()[0].split()[:4] == ["JOB", "NAME", "STATE", "TASKS"]
    ids = listed(output)
    assert ids.index(finished["dag"]) < ids.index(finished["other"]) < ids.index(finished["green"])
    [dag] = rows(output, finished["dag"])
    assert dag[1:4] == ["dag", "FAILED", "4/4"]
    [green] = rows(output, finished["green"])
    assert green[1:4] == ["green", "SUCCEED", "1/1"] and green[-1] == "team=blue"


def test_jobs_filters_by_state_name_and_tag(srv: Server, home: Path, finished: dict[str, str]) -> None:
    failed = listed(ok(invoke("jobs", "--state", "failed", home=home, srv=srv)))
    assert finished["dag"] in failed and finished["green"] not in failed
    assert listed(ok(invoke("jobs", "--name", "green", home=home, srv=srv))) == [finished["green"]]
    assert listed(ok(invoke("jobs", "--tag", "team=red", home=home, srv=srv))) == [finished["other"]]
    tagged = listed(ok(invoke("jobs", "--tag", "team", "--state", "SUCCEED", home=home, srv=srv)))
    assert tagged == [finished["other"], finished["green"]]


def test_jobs_json_is_the_job_set_and_total(srv: Server, home: Path, finished: dict[str, str]) -> None:
    printed = json_of(invoke("jobs", "--name", "dag", "--output", "json", home=home, srv=srv))
    assert [j["JobId"] for j in printed["JobSet"]] == [finished["dag"]]
    assert printed["TotalCount"] == 1
    assert printed["JobSet"][0]["TaskMetrics"]["FailedCount"] == 1


def test_jobs_limit_pages_through_the_api(srv: Server, home: Path, finished: dict[str, str]) -> None:
    output = ok(invoke("jobs", "--limit", "2", home=home, srv=srv))
    assert len(listed(output)) == 2
    assert "2 of " in output


def test_job_shows_tasks_the_dag_as_a_tree_metrics_and_failed_instances(
    srv: Server, home: Path, finished: dict[str, str]
) -> None:
    output = ok(invoke("job", finished["dag"], home=home, srv=srv))
    assert rows(output, "State") == [["State", "FAILED"]]
    assert rows(output, "Reason") == [["Reason", "Task", "`right`", "ended", "FAILED."]]
    assert rows(output, "right")[0][:7] == ["right", "FAILED", "2", "0", "0", "0", "2"]
    tree = output[output.index("Dependencies") :].splitlines()
    drawn = tree[1:6]
    assert [_label(line) for line in drawn] == ["fetch", "left", "join", "right", "join"]
    assert drawn[0].index("fetch") < drawn[1].index("left") < drawn[2].index("join")
    assert drawn[3].index("right") == drawn[1].index("left")
    assert drawn[4].rstrip().endswith("join (shown above)")
    assert rows(output, "SUCCEED") == [["SUCCEED", "3", "3"]]
    assert rows(output, "FAILED") == [["FAILED", "1", "2"]]
    assert rows(output, "RUNNING") == [["RUNNING", "0", "0"]]
    failed = [r for r in rows(output, "right") if r[1] in ("0", "1")]
    assert [r[:4] for r in failed] == [["right", "0", "FAILED", "4"], ["right", "1", "FAILED", "4"]]
    assert " ".join(failed[0][5:]) == "The command exited with code 4."


def _label(line: str) -> str:
    return line.strip(" │├└─").split()[0]


def test_job_json_carries_the_job_and_its_failed_instances(
    srv: Server, home: Path, finished: dict[str, str]
) -> None:
    printed = json_of(invoke("job", finished["dag"], "-o", "json", home=home, srv=srv))
    assert printed["Job"]["JobId"] == finished["dag"]
    assert printed["Job"]["DependenceSet"][0] == {"StartTask": "fetch", "EndTask": "left"}
    reasons = {
        (i["TaskName"], i["TaskInstanceIndex"]): i["StateReason"] for i in printed["FailedTaskInstances"]
    }
    assert reasons == {
        ("right", 0): "The command exited with code 4.",
        ("right", 1): "The command exited with code 4.",
    }


def test_job_says_why_the_tasks_that_wait_are_waiting(
    srv: Server, home: Path, sdk: batch_client.BatchClient
) -> None:
    job_id = submit(sdk, task("capped", unique_sleep(30), TaskInstanceNum=3, MaxConcurrentNum=1))
    reason = "the task's MaxConcurrentNum (1) is reached"
    try:
        wait_for(lambda: _first_waiting_reason(sdk, job_id) == reason)
        output = ok(invoke("job", job_id, home=home, srv=srv))
        printed = json_of(invoke("job", job_id, "-o", "json", home=home, srv=srv))
    finally:
        call(sdk, "TerminateJob", {"JobId": job_id})

    assert "Waiting tasks" in output
    waiting = [r for r in rows(output, "capped") if r[1:3] == ["2", "the"]]
    assert [" ".join(r[2:]) for r in waiting] == [reason]
    assert printed["WaitingTasks"] == [{"TaskName": "capped", "WaitingCount": 2, "StateReason": reason}]


def _first_waiting_reason(sdk: batch_client.BatchClient, job_id: str) -> str:
    params = {
        "JobId": job_id,
        "TaskName": "capped",
        "Filters": [{"Name": "task-instance-state", "Values": ["RUNNABLE"]}],
    }
    found = call(sdk, "DescribeTask", params).TaskInstanceSet
    return str(found[0].StateReason) if len(found) == 2 else ""


def test_an_unknown_job_is_the_apis_error_on_one_line(srv: Server, home: Path) -> None:
    line = one_red_line(invoke("job", "job-00000000", home=home, srv=srv), 3)
    assert line.startswith("ResourceNotFound.Job: ")


def test_terminate_retry_and_delete_change_the_job_as_they_say(
    srv: Server, home: Path, sdk: batch_client.BatchClient
) -> None:
    job_id = submit(sdk, task("A", unique_sleep(30)))
    wait_for(lambda: _state(sdk, job_id) == "RUNNING")
    assert ok(invoke("terminate", job_id, home=home, srv=srv)).strip() == f"{job_id}: termination requested"
    job = wait_job(sdk, job_id)
    assert job.StateReason == "Terminated by TerminateJob."
    failed = json_of(invoke("job", job_id, "-o", "json", home=home, srv=srv))["FailedTaskInstances"]
    assert [i["TaskInstanceState"] for i in failed] == ["FAILED"]

    assert ok(invoke("retry", job_id, home=home, srv=srv)).strip() == f"{job_id}: retry requested"
    wait_for(lambda: _state(sdk, job_id) == "RUNNING")
    assert one_red_line(invoke("delete", job_id, home=home, srv=srv), 3).startswith("ResourceInUse.Job: ")
    assert ok(invoke("terminate", job_id, home=home, srv=srv))
    wait_job(sdk, job_id)

    printed = json_of(invoke("delete", job_id, "--output", "json", home=home, srv=srv))
    assert printed["RequestId"]
    assert one_red_line(invoke("job", job_id, home=home, srv=srv), 3).startswith("ResourceNotFound.Job")


def _state(sdk: batch_client.BatchClient, job_id: str) -> Any:
    return call(sdk, "DescribeJob", {"JobId": job_id}).JobState


def test_retry_takes_several_jobs_and_json_prints_the_response(
    srv: Server, home: Path, sdk: batch_client.BatchClient
) -> None:
    ids = [submit(sdk, task("A", "exit 1")) for _ in range(2)]
    for job_id in ids:
        wait_job(sdk, job_id)
    printed = json.loads(ok(invoke("retry", *ids, "-o", "json", home=home, srv=srv)))
    assert set(printed) == {"RequestId"}
    for job_id in ids:
        wait_job(sdk, job_id)
