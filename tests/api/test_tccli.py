"""tccli, unchanged, against the server: the commands of the official docs (API_NOTES §4).

tccli signs ``Host: http://127.0.0.1:PORT`` literally when given ``--endpoint http://…``; these tests
prove that, its JSON-argument form (with the documented string ``"Priority":"1"``) and its
``--cli-unfold-argument`` flattened form all reach the server intact.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.batch.v20170312 import batch_client

from conftest import (
    REGION,
    SECRET_ID,
    SECRET_KEY,
    Server,
    call,
    make_client,
    wait_job,
)

TCCLI = Path(sys.executable).with_name("tccli")
JOB_ID = re.compile(r"job-[a-z0-9]{8}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
COMMAND = """printf '%s\\n' "hello from tccli" """.strip()
ANONYMOUS_ENV = {"EnvType": "MANAGED", "EnvData": {"InstanceType": "S2.SMALL1"}}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty HOME, so tccli reads no user configuration or credentials."""
    return tmp_path_factory.mktemp("tccli-home")


def tccli(
    srv: Server, home: Path, action: str, *args: str, region: str = REGION
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENCENTCLOUD_")}
    env.update(
        HOME=str(home),
        TENCENTCLOUD_SECRET_ID=SECRET_ID,
        TENCENTCLOUD_SECRET_KEY=SECRET_KEY,
        TENCENTCLOUD_REGION=region,
    )
    argv = [str(TCCLI), "batch", action, "--endpoint", srv.url, *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)


def printed(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """tccli's success output: exit 0 and the inner Response object, RequestId included."""
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert "Response" not in output
    assert UUID.fullmatch(output["RequestId"])
    return dict(output)


def json_form_job() -> str:
    job = {
        "JobName": "test job",
        "Priority": "1",
        "Tasks": [
            {
                "TaskName": "hello2",
                "TaskInstanceNum": 1,
                "Application": {"DeliveryForm": "LOCAL", "Command": COMMAND},
                "ComputeEnv": ANONYMOUS_ENV,
            }
        ],
    }
    return json.dumps(job)


def submit_json_form(srv: Server, home: Path) -> subprocess.CompletedProcess[str]:
    """The "命令行快速开始" command, on an anonymous environment instead of a named one."""
    return tccli(srv, home, "SubmitJob", "--Placement", '{"Zone":"ap-guangzhou-3"}', "--Job", json_form_job())


def test_submit_job_json_form_with_string_priority(
    srv: Server, home: Path, sdk: batch_client.BatchClient
) -> None:
    job_id = printed(submit_json_form(srv, home))["JobId"]
    assert JOB_ID.fullmatch(job_id)
    job = call(sdk, "DescribeJob", {"JobId": job_id})
    assert (job.JobName, job.Priority, job.Zone) == ("test job", 1, "ap-guangzhou-3")


def test_describe_job_prints_the_finished_job(srv: Server, home: Path, sdk: batch_client.BatchClient) -> None:
    job_id = printed(submit_json_form(srv, home))["JobId"]
    wait_job(sdk, job_id)
    job = printed(tccli(srv, home, "DescribeJob", "--JobId", job_id))
    assert job["JobId"] == job_id
    assert (job["JobName"], job["Priority"], job["JobState"]) == ("test job", 1, "SUCCEED")
    assert [t["TaskName"] for t in job["TaskSet"]] == ["hello2"]
    assert job["TaskInstanceMetrics"]["SucceedCount"] == 1


def test_unknown_job_exits_255_with_code_on_stderr(srv: Server, home: Path) -> None:
    result = tccli(srv, home, "DescribeJob", "--JobId", "job-abcdefgh")
    assert result.returncode == 255
    assert result.stdout == ""
    assert "code:ResourceNotFound.Job" in result.stderr
    assert re.search(r"requestId:" + UUID.pattern, result.stderr)


def unfolded_task(index: int, name: str) -> list[str]:
    prefix = f"--Job.Tasks.{index}."
    logs = "cos://batch-demo-1251783334.cosbj.myqcloud.com/logs/"
    return [
        f"{prefix}TaskName", name,
        f"{prefix}TaskInstanceNum", "1",
        f"{prefix}Application.DeliveryForm", "LOCAL",
        f"{prefix}Application.Command", f"echo {name}",
        f"{prefix}ComputeEnv.EnvData.InstanceType", "S2.SMALL1",
        f"{prefix}RedirectInfo.StdoutRedirectPath", logs,
        f"{prefix}RedirectInfo.StderrRedirectPath", logs,
    ]  # fmt: skip


def test_submit_job_unfolded_arguments_of_the_dag_example(srv: Server, home: Path) -> None:
    """SubmitJob.md example 2, verbatim apart from the endpoint: zone ap-beijing-2, so region ap-beijing."""
    args = [
        "--cli-unfold-argument",
        "--Placement.Zone", "ap-beijing-2",
        "--Job.JobName", "dag",
        "--Job.JobDescription", "dag_demo",
        *unfolded_task(0, "pre_task"),
        *unfolded_task(1, "post_task"),
        "--Job.Dependences.0.StartTask", "pre_task",
        "--Job.Dependences.0.EndTask", "post_task",
    ]  # fmt: skip
    job_id = printed(tccli(srv, home, "SubmitJob", *args, region="ap-beijing"))["JobId"]
    beijing = make_client(srv.endpoint, region="ap-beijing")
    info = call(beijing, "DescribeJobSubmitInfo", {"JobId": job_id})
    assert (info.JobName, info.JobDescription) == ("dag", "dag_demo")
    assert [(t.TaskName, t.TaskInstanceNum, t.Application.Command) for t in info.Tasks] == [
        ("pre_task", 1, "echo pre_task"),
        ("post_task", 1, "echo post_task"),
    ]
    assert [(d.StartTask, d.EndTask) for d in info.Dependences] == [("pre_task", "post_task")]
    assert call(beijing, "DescribeJob", {"JobId": job_id}).Zone == "ap-beijing-2"
