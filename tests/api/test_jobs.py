"""A job's life seen through the official SDK: submit, run for real, describe, read logs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import Server, call, decode_log, submit, task, wait_for, wait_job

BUCKET_URL = "cos://batch-demo-1251783334.cos.ap-guangzhou.myqcloud.com/logs/"
ISO = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"


def cos_object(server: Server, url: str) -> Path:
    bucket_host, _, key = url.removeprefix("cos://").partition("/")
    return server.data_dir / "cos" / bucket_host.split(".")[0] / key


def test_describe_task_of_two_instances_matches_the_official_example(client: Any, server: Server) -> None:
    redirect = {"StdoutRedirectPath": BUCKET_URL, "StderrRedirectPath": BUCKET_URL}
    job_id = submit(client, task("A", "echo hello", TaskInstanceNum=2, RedirectInfo=redirect))
    wait_job(client, job_id)

    response = call(client, "DescribeTask", {"JobId": job_id, "TaskName": "A"})

    assert (response.JobId, response.TaskName, response.TaskState) == (job_id, "A", "SUCCEED")
    assert response.TaskInstanceTotalCount == 2
    assert response.CreateTime <= response.EndTime
    metrics = response.TaskInstanceMetrics
    assert metrics.SucceedCount == 2
    assert metrics.SubmittedCount == metrics.PendingCount == metrics.RunnableCount == 0
    assert metrics.StartingCount == metrics.RunningCount == metrics.FailedCount == 0
    assert metrics.FailedInterruptedCount == 0
    assert [i.TaskInstanceIndex for i in response.TaskInstanceSet] == [0, 1]
    for instance in response.TaskInstanceSet:
        index = instance.TaskInstanceIndex
        assert instance.TaskInstanceState == "SUCCEED"
        assert instance.ExitCode == 0
        assert instance.StateReason == ""
        assert instance.ComputeNodeInstanceId.startswith("ins-")
        assert instance.CreateTime <= instance.LaunchTime <= instance.RunningTime <= instance.EndTime
        assert instance.RedirectInfo.StdoutRedirectPath == BUCKET_URL
        assert instance.RedirectInfo.StdoutRedirectFileName == f"stdout.{job_id}.A.{index}.log"
        assert instance.RedirectInfo.StderrRedirectFileName == f"stderr.{job_id}.A.{index}.log"
    assert response.RequestId


def test_dag_runs_each_task_after_its_predecessors(client: Any) -> None:
    stamp = "date +%s%N"
    tasks = [task(name, f"{stamp}; sleep 0.2; {stamp}") for name in "ABCD"]
    edges = [("A", "B"), ("A", "C"), ("B", "D"), ("C", "D")]
    job_id = submit(client, *tasks, Dependences=[{"StartTask": a, "EndTask": b} for a, b in edges])

    job = wait_job(client, job_id)

    assert job.JobState == "SUCCEED"
    assert {(d.StartTask, d.EndTask) for d in job.DependenceSet} == set(edges)
    assert job.TaskMetrics.SucceedCount == 4
    spans = {}
    for name in "ABCD":
        logs = call(client, "DescribeTaskLogs", {"JobId": job_id, "TaskName": name}).TaskInstanceLogSet
        start, end = (int(line) for line in decode_log(logs[0].StdoutLog).split())
        spans[name] = (start, end)
        view = call(client, "DescribeTask", {"JobId": job_id, "TaskName": name}).TaskInstanceSet[0]
        spans[name + "-api"] = (view.LaunchTime, view.EndTime)
    for before, after in edges:
        assert spans[before][1] < spans[after][0], f"{after} started before {before} ended"
        assert spans[before + "-api"][1] <= spans[after + "-api"][0]


def test_failing_command_reports_exit_code_and_fails_task_and_job(client: Any) -> None:
    job_id = submit(
        client,
        task("bad", "echo oops >&2; exit 3"),
        task("after", "true"),
        Dependences=[{"StartTask": "bad", "EndTask": "after"}],
    )

    job = wait_job(client, job_id)

    assert job.JobState == "FAILED"
    assert "bad" in job.StateReason
    assert {t.TaskName: t.TaskState for t in job.TaskSet} == {"bad": "FAILED", "after": "FAILED"}
    bad = call(client, "DescribeTask", {"JobId": job_id, "TaskName": "bad"}).TaskInstanceSet[0]
    assert (bad.TaskInstanceState, bad.ExitCode) == ("FAILED", 3)
    assert "3" in bad.StateReason
    after = call(client, "DescribeTask", {"JobId": job_id, "TaskName": "after"}).TaskInstanceSet[0]
    assert after.TaskInstanceState == "FAILED"
    assert after.LaunchTime is None, "a successor of a failed task never runs"
    assert "bad" in after.StateReason


def test_command_sees_batch_variables_and_task_env_vars(client: Any) -> None:
    command = (
        'echo "$BATCH_JOB_ID $BATCH_TASK_NAME $BATCH_TASK_INSTANCE_NUM $BATCH_TASK_INSTANCE_INDEX $GREETING"'
    )
    env = [{"Name": "GREETING", "Value": "hello world"}]
    job_id = submit(client, task("envs", command, TaskInstanceNum=3, EnvVars=env))
    wait_job(client, job_id)

    logs = call(client, "DescribeTaskLogs", {"JobId": job_id, "TaskName": "envs", "Limit": 10})

    outputs = {log.TaskInstanceIndex: decode_log(log.StdoutLog).strip() for log in logs.TaskInstanceLogSet}
    assert outputs == {i: f"{job_id} envs 3 {i} hello world" for i in range(3)}


def test_logs_are_readable_by_api_and_stored_at_the_redirect_path(client: Any, server: Server) -> None:
    redirect = {
        "StdoutRedirectPath": BUCKET_URL,
        "StderrRedirectPath": "cos://batch-demo-1251783334/errors/",
        "StderrRedirectFileName": "err-${BATCH_TASK_NAME}-${BATCH_TASK_INSTANCE_INDEX}.txt",
    }
    job_id = submit(
        client,
        task(
            "logs",
            "echo out-$BATCH_TASK_INSTANCE_INDEX; echo err >&2",
            TaskInstanceNum=2,
            RedirectInfo=redirect,
        ),
    )
    wait_job(client, job_id)

    logs = call(client, "DescribeTaskLogs", {"JobId": job_id, "TaskName": "logs", "TaskInstanceIndexes": [1]})

    assert logs.TotalCount == 2
    (entry,) = logs.TaskInstanceLogSet
    assert decode_log(entry.StdoutLog) == "out-1\n"
    assert decode_log(entry.StderrLog) == "err\n"
    assert entry.StdoutRedirectFileName == f"stdout.{job_id}.logs.1.log"
    assert entry.StderrRedirectFileName == "err-logs-1.txt"
    assert cos_object(server, BUCKET_URL + entry.StdoutRedirectFileName).read_text() == "out-1\n"
    assert cos_object(server, "cos://batch-demo-1251783334/errors/err-logs-1.txt").read_text() == "err\n"


def test_a_silent_instance_has_empty_logs_here_and_at_the_redirect_path(client: Any, server: Server) -> None:
    redirect = {"StdoutRedirectPath": BUCKET_URL, "StderrRedirectPath": BUCKET_URL}
    job_id = submit(client, task("quiet", "true", RedirectInfo=redirect))
    assert wait_job(client, job_id).JobState == "SUCCEED"

    (entry,) = call(client, "DescribeTaskLogs", {"JobId": job_id, "TaskName": "quiet"}).TaskInstanceLogSet

    assert (decode_log(entry.StdoutLog), decode_log(entry.StderrLog)) == ("", "")
    assert cos_object(server, BUCKET_URL + entry.StdoutRedirectFileName).read_text() == ""
    assert cos_object(server, BUCKET_URL + entry.StderrRedirectFileName).read_text() == ""


def test_log_tail_is_capped_at_2048_bytes(client: Any) -> None:
    job_id = submit(client, task("big", "seq 1 2000"))
    wait_job(client, job_id)

    (entry,) = call(client, "DescribeTaskLogs", {"JobId": job_id, "TaskName": "big"}).TaskInstanceLogSet

    text = decode_log(entry.StdoutLog)
    assert len(text) == 2048
    assert text.endswith("1999\n2000\n"), "the tail of the log is kept"


def test_describe_task_pages_and_filters_instances(client: Any) -> None:
    job_id = submit(client, task("mixed", "exit $((BATCH_TASK_INSTANCE_INDEX % 3 == 0))", TaskInstanceNum=10))
    wait_job(client, job_id)
    describe = {"JobId": job_id, "TaskName": "mixed"}

    page = call(client, "DescribeTask", {**describe, "Offset": 4, "Limit": 3})
    failed = call(
        client,
        "DescribeTask",
        {**describe, "Filters": [{"Name": "task-instance-state", "Values": ["FAILED"]}]},
    )
    either = call(
        client,
        "DescribeTask",
        {
            **describe,
            "Limit": 2,
            "Filters": [{"Name": "task-instance-state", "Values": ["FAILED", "SUCCEED"]}],
        },
    )

    assert [i.TaskInstanceIndex for i in page.TaskInstanceSet] == [4, 5, 6]
    assert page.TaskInstanceTotalCount == 10
    assert [i.TaskInstanceIndex for i in failed.TaskInstanceSet] == [0, 3, 6, 9]
    assert failed.TaskInstanceTotalCount == 4
    assert {i.TaskInstanceState for i in failed.TaskInstanceSet} == {"FAILED"}
    assert [i.TaskInstanceIndex for i in either.TaskInstanceSet] == [0, 1]
    assert either.TaskInstanceTotalCount == 10
    assert failed.TaskInstanceMetrics.FailedCount == 4
    assert failed.TaskInstanceMetrics.SucceedCount == 6


def test_describe_jobs_pages_newest_first_and_filters(client: Any) -> None:
    ids = [submit(client, task("t", "true"), JobName=f"job-{n}") for n in range(5)]
    failing = submit(client, task("t", "false"), JobName="the-failing-one")
    for job_id in [*ids, failing]:
        wait_job(client, job_id)

    first = call(client, "DescribeJobs", {"Limit": 2})
    second = call(client, "DescribeJobs", {"Offset": 2, "Limit": 2})
    by_name = call(client, "DescribeJobs", {"Filters": [{"Name": "job-name", "Values": ["job-1", "job-3"]}]})
    by_state = call(client, "DescribeJobs", {"Filters": [{"Name": "job-state", "Values": ["FAILED"]}]})
    by_ids = call(client, "DescribeJobs", {"JobIds": ids[:2]})
    by_zone = call(client, "DescribeJobs", {"Filters": [{"Name": "zone", "Values": ["ap-guangzhou-4"]}]})

    assert first.TotalCount == second.TotalCount == 6
    assert [j.JobId for j in first.JobSet + second.JobSet] == [failing, ids[4], ids[3], ids[2]]
    assert sorted(j.JobName for j in by_name.JobSet) == ["job-1", "job-3"]
    assert [j.JobId for j in by_state.JobSet] == [failing]
    assert by_state.JobSet[0].TaskMetrics.FailedCount == 1
    assert sorted(j.JobId for j in by_ids.JobSet) == sorted(ids[:2])
    assert by_zone.TotalCount == 0
    view = first.JobSet[1]
    assert view.Placement.Zone == "ap-guangzhou-3"
    assert view.JobState == "SUCCEED"
    assert view.EndTime is not None


def test_submit_info_returns_the_job_as_submitted(client: Any) -> None:
    submitted = task("only", "echo hi", EnvVars=[{"Name": "A", "Value": "1"}], MaxRetryCount=1)
    job_id = submit(
        client, submitted, JobDescription="described", Priority=7, Tags=[{"Key": "team", "Value": "render"}]
    )

    info = call(client, "DescribeJobSubmitInfo", {"JobId": job_id})

    assert (info.JobId, info.JobName, info.JobDescription, info.Priority) == (job_id, "test", "described", 7)
    (only,) = info.Tasks
    assert only.TaskName == "only"
    assert only.Application.Command == "echo hi"
    assert only.EnvVars[0].Name == "A"
    assert only.MaxRetryCount == 1
    assert [(t.Key, t.Value) for t in info.Tags] == [("team", "render")]


def test_running_instance_is_visible_while_it_runs(client: Any) -> None:
    job_id = submit(client, task("slow", "sleep 2"))

    def running() -> Any:
        view = call(client, "DescribeTask", {"JobId": job_id, "TaskName": "slow"}).TaskInstanceSet[0]
        return view if view.TaskInstanceState == "RUNNING" else None

    view = wait_for(running, timeout=10)
    job = call(client, "DescribeJob", {"JobId": job_id})
    assert view.EndTime is None
    assert view.ExitCode is None
    assert (job.JobState, job.EndTime) == ("RUNNING", None)
    assert wait_job(client, job_id).JobState == "SUCCEED"
