"""``batchyard submit``: a job file in, a job id out; with ``--wait``, the job's outcome and exit status."""

from __future__ import annotations

import json
from pathlib import Path

from tencentcloud.batch.v20170312 import batch_client

from cli.helpers import JOB_ID, batchyard, invoke, job_file, json_of, ok, one_red_line, rows
from conftest import Server, call, task, wait_job


def test_submit_wait_on_a_succeeding_job_exits_0_with_a_summary_of_its_tasks(
    srv: Server, home: Path, tmp_path: Path
) -> None:
    """A YAML job of two dependent tasks: the summary lists both, SUCCEED, with their instance counts."""
    path = job_file(
        tmp_path,
        "pipeline",
        task("prepare", "echo ready"),
        task("crunch", "echo part $BATCH_TASK_INSTANCE_INDEX", TaskInstanceNum=3),
        Dependences=[{"StartTask": "prepare", "EndTask": "crunch"}],
        yaml=True,
    )
    result = batchyard("submit", str(path), "--wait", home=home, srv=srv)
    output = ok(result)
    job_id = JOB_ID.search(output.splitlines()[0])
    assert job_id is not None and output.startswith(f"Submitted {job_id.group()}")
    assert rows(output, "prepare") == [
        ["prepare", "SUCCEED", "1", "0", "0", "1", "0", *rows(output, "prepare")[0][7:]]
    ]
    assert rows(output, "crunch")[0][:7] == ["crunch", "SUCCEED", "3", "0", "0", "3", "0"]
    assert f"{job_id.group()} (pipeline) SUCCEED after" in output
    assert "Failed instances" not in output


def test_submit_wait_on_a_failing_job_exits_1_and_shows_each_failed_instance_with_its_reason(
    srv: Server, home: Path, tmp_path: Path
) -> None:
    path = job_file(
        tmp_path, "doomed", task("ok", "true"), task("bad", "echo trying; exit 3", TaskInstanceNum=2)
    )
    result = batchyard("submit", str(path), "--wait", home=home, srv=srv)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    output = result.stdout
    assert rows(output, "bad")[0][:7] == ["bad", "FAILED", "2", "0", "0", "0", "2"]
    failed = [r for r in rows(output, "bad") if r[1] in ("0", "1")]
    assert [r[:4] for r in failed] == [["bad", "0", "FAILED", "3"], ["bad", "1", "FAILED", "3"]]
    assert all(" ".join(r[5:]) == "The command exited with code 3." for r in failed)
    assert "(doomed) FAILED after" in output
    assert "Task `bad` ended FAILED." in output


def test_submit_without_wait_prints_the_job_id_alone(srv: Server, home: Path, tmp_path: Path) -> None:
    path = job_file(tmp_path, "quick", task("A", "true"))
    output = ok(invoke("submit", str(path), home=home, srv=srv))
    assert JOB_ID.fullmatch(output.strip())


def test_submit_reads_the_job_from_standard_input(
    srv: Server, home: Path, sdk: batch_client.BatchClient
) -> None:
    body = {
        "Placement": {"Zone": "ap-guangzhou-3"},
        "Job": {"JobName": "piped", "Tasks": [task("A", "true")]},
    }
    output = ok(invoke("submit", "-", home=home, srv=srv, stdin=json.dumps(body)))
    assert call(sdk, "DescribeJob", {"JobId": output.strip()}).JobName == "piped"


def test_submit_wait_with_json_output_prints_the_final_job_and_its_failed_instances(
    srv: Server, home: Path, tmp_path: Path
) -> None:
    path = job_file(tmp_path, "scripted", task("A", "exit 7"))
    result = invoke("submit", str(path), "--wait", "--output", "json", home=home, srv=srv)
    assert result.returncode == 1
    printed = json.loads(result.stdout)
    assert printed["Job"]["JobState"] == "FAILED"
    assert printed["Job"]["TaskSet"][0]["TaskName"] == "A"
    [failed] = printed["FailedTaskInstances"]
    assert (failed["TaskName"], failed["TaskInstanceIndex"], failed["ExitCode"]) == ("A", 0, 7)
    assert failed["StateReason"] == "The command exited with code 7."


def test_submit_json_output_is_the_submit_job_response(srv: Server, home: Path, tmp_path: Path) -> None:
    path = job_file(tmp_path, "plain", task("A", "true"))
    printed = json_of(invoke("submit", str(path), "-o", "json", home=home, srv=srv))
    assert JOB_ID.fullmatch(printed["JobId"]) and printed["RequestId"]


def test_a_member_the_sdk_does_not_know_is_named_back_as_a_warning(
    srv: Server, home: Path, tmp_path: Path, sdk: batch_client.BatchClient
) -> None:
    path = job_file(tmp_path, "typo", task("A", "true", Comand="oops"))
    result = invoke("submit", str(path), home=home, srv=srv)
    assert result.returncode == 0
    assert result.stderr.strip() == f"{path}: unknown member(s) left out of the request: Comand"
    wait_job(sdk, result.stdout.strip())


def test_an_unreadable_or_malformed_job_file_is_one_line_and_exit_2(
    srv: Server, home: Path, tmp_path: Path
) -> None:
    missing = one_red_line(invoke("submit", str(tmp_path / "nope.yaml"), home=home, srv=srv), 2)
    assert missing == f"cannot read {tmp_path / 'nope.yaml'}: No such file or directory"
    (tmp_path / "broken.json").write_text('{"Job": ')
    assert one_red_line(invoke("submit", str(tmp_path / "broken.json"), home=home, srv=srv), 2).startswith(
        f"{tmp_path / 'broken.json'} is not valid JSON"
    )
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    assert "a mapping with `Job` and `Placement`" in one_red_line(
        invoke("submit", str(tmp_path / "list.yaml"), home=home, srv=srv), 2
    )


def test_a_job_the_api_refuses_is_its_error_code_and_message_on_one_line(
    srv: Server, home: Path, tmp_path: Path
) -> None:
    path = job_file(tmp_path, "refused", task("A", "true", TaskInstanceNum=0))
    line = one_red_line(batchyard("submit", str(path), "--wait", home=home, srv=srv), 3)
    assert line.startswith("InvalidParameter")
