"""The store is the truth: restarts and crashes lose no job and run no instance twice."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.batch.v20170312 import batch_client
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from conftest import (
    SECRET_ID,
    Server,
    call,
    make_client,
    running,
    stdout_of,
    submit,
    task,
    wait_for,
    wait_job,
)


def test_restart_keeps_every_job_task_and_instance(server: Server) -> None:
    client = make_client(server.endpoint)
    finished = submit(
        client,
        task("A", "echo done", TaskInstanceNum=3),
        task("B", "false"),
        Dependences=[{"StartTask": "A", "EndTask": "B"}],
    )
    wait_job(client, finished)
    before = call(client, "DescribeJob", {"JobId": finished}).to_json_string()
    tasks_before = call(client, "DescribeTask", {"JobId": finished, "TaskName": "A"}).TaskInstanceSet

    server.stop()
    server.start()

    after = call(client, "DescribeJob", {"JobId": finished})
    assert _without_request_id(after.to_json_string()) == _without_request_id(before)
    tasks_after = call(client, "DescribeTask", {"JobId": finished, "TaskName": "A"}).TaskInstanceSet
    assert [t.to_json_string() for t in tasks_after] == [t.to_json_string() for t in tasks_before]


def test_killed_server_reattaches_running_instance_which_runs_once(server: Server, tmp_path: Path) -> None:
    client = make_client(server.endpoint)
    marker = tmp_path / "runs.txt"
    # The subshell carries the wrapper's arguments too: only the wrapper itself may be re-attached.
    job_id = submit(client, task("long", f"echo run >> {marker}; (sleep 3); echo finished"))
    wait_for(lambda: call(client, "DescribeJob", {"JobId": job_id}).JobState == "RUNNING")

    server.stop(signal.SIGKILL)
    server.start()

    job = wait_job(client, job_id)
    assert job.JobState == "SUCCEED"
    assert marker.read_text() == "run\n", "the instance ran exactly once"
    view = call(client, "DescribeTask", {"JobId": job_id, "TaskName": "long"}).TaskInstanceSet[0]
    assert (view.TaskInstanceState, view.ExitCode) == ("SUCCEED", 0)
    assert stdout_of(client, job_id, "long") == "finished\n", "the log written across the restart is kept"


def test_instance_that_finished_while_server_was_down_is_recorded(server: Server) -> None:
    client = make_client(server.endpoint)
    job_id = submit(client, task("quick", "echo bye; sleep 1; exit 4"))
    wait_for(lambda: call(client, "DescribeJob", {"JobId": job_id}).JobState == "RUNNING")

    server.stop(signal.SIGKILL)
    wait_for(
        lambda: any(f.read_text().strip() for f in server.data_dir.glob("runs/*/exits")),
        timeout=10,
    )
    server.start()

    assert wait_job(client, job_id).JobState == "FAILED"
    view = call(client, "DescribeTask", {"JobId": job_id, "TaskName": "quick"}).TaskInstanceSet[0]
    assert view.ExitCode == 4
    assert stdout_of(client, job_id, "quick") == "bye\n"


@pytest.fixture
def one_node(tmp_path: Path) -> Iterator[Server]:
    yield from running(Server(tmp_path / "data", config="[local]\ncpus = 1\nmemory_gib = 4\n"))


@pytest.mark.local_only  # counts on one_node's one-CPU machine; tests/slurm has its own
def test_killed_server_runs_waiting_instances_once_and_the_running_one_is_not_repeated(
    one_node: Server, tmp_path: Path
) -> None:
    """One node: instance 0 runs on it, 1 and 2 wait for it (RUNNABLE) when the server dies."""
    client = make_client(one_node.endpoint)
    marker = tmp_path / "runs.txt"
    job_id = submit(
        client, task("q", f"echo $BATCH_TASK_INSTANCE_INDEX >> {marker}; sleep 2", TaskInstanceNum=3)
    )
    wait_for(
        lambda: (
            (m := call(client, "DescribeJob", {"JobId": job_id}).TaskInstanceMetrics).RunningCount == 1
            and m.RunnableCount == 2
        )
    )

    one_node.stop(signal.SIGKILL)
    one_node.start()

    assert wait_job(client, job_id, timeout=30).JobState == "SUCCEED"
    assert sorted(marker.read_text().split()) == ["0", "1", "2"], "each instance ran exactly once"
    views = call(client, "DescribeTask", {"JobId": job_id, "TaskName": "q"}).TaskInstanceSet
    assert [v.ExitCode for v in views] == [0, 0, 0]


def test_first_start_generates_credentials_that_the_sdk_can_use(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATCHYARD_")}
    srv = Server(data_dir, extra_env={"BATCHYARD_SECRET_ID": "", "BATCHYARD_SECRET_KEY": ""})
    srv.start()
    try:
        creds = data_dir / "credentials.json"
        assert stat.S_IMODE(creds.stat().st_mode) == 0o600
        shown = subprocess.run(
            [sys.executable, "-m", "batchyard", "credentials", "show", "--data-dir", str(data_dir)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        pair = json.loads(shown.splitlines()[0])
        assert pair["SecretId"].startswith("AKID") and pair["SecretId"] != SECRET_ID
        sdk = batch_client.BatchClient(
            credential.Credential(pair["SecretId"], pair["SecretKey"]),
            "ap-guangzhou",
            ClientProfile(httpProfile=HttpProfile(endpoint=srv.endpoint, protocol="http")),
        )
        assert call(sdk, "DescribeJobs", {}).TotalCount == 0
    finally:
        srv.stop()


def _without_request_id(text: str) -> Any:
    data = json.loads(text)
    data.pop("RequestId", None)
    return data
