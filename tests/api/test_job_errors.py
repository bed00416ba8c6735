"""The Batch error codes of the job and task actions, as the official SDK reports them.

A refused SubmitJob must store nothing: every SubmitJob case also checks that DescribeJobs' TotalCount
did not move, so validation is proven to happen before any write.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from tencentcloud.batch.v20170312 import batch_client
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from conftest import ZONE, Server, call, make_client, submit, task

UNKNOWN_JOB = "job-abcdefgh"
COS_DIR = "cos://logs-1250000000.cos.ap-guangzhou.myqcloud.com/logs/"


@pytest.fixture(scope="module")
def job_id(sdk: batch_client.BatchClient) -> str:
    """A job with one task `a` of two instances, for the task and log lookups."""
    return str(submit(sdk, task("a", "echo hi", TaskInstanceNum=2)))


def sdk_code(action: Callable[[], Any]) -> str:
    with pytest.raises(TencentCloudSDKException) as info:
        action()
    return str(info.value.code)


def total_jobs(client: batch_client.BatchClient) -> int:
    return int(call(client, "DescribeJobs", {}).TotalCount)


# ---------------------------------------------------------------------------------------------------
# Lookups: malformed and unknown ids, unknown tasks and instances.

MALFORMED_IDS: dict[str, tuple[str, dict[str, Any]]] = {
    "describe-job": ("DescribeJob", {"JobId": "job-UPPER123"}),
    "describe-job-short": ("DescribeJob", {"JobId": "job-abc"}),
    "describe-job-prefix": ("DescribeJob", {"JobId": "env-abcdefgh"}),
    "submit-info": ("DescribeJobSubmitInfo", {"JobId": "nope"}),
    "describe-task": ("DescribeTask", {"JobId": "nope", "TaskName": "a"}),
    "task-logs": ("DescribeTaskLogs", {"JobId": "nope", "TaskName": "a"}),
    "describe-jobs": ("DescribeJobs", {"JobIds": ["job-abcdefgh", "bad id"]}),
}


@pytest.mark.parametrize(("action", "params"), MALFORMED_IDS.values(), ids=MALFORMED_IDS.keys())
def test_malformed_job_id_is_job_id_malformed(
    sdk: batch_client.BatchClient, action: str, params: dict[str, Any]
) -> None:
    assert sdk_code(lambda: call(sdk, action, params)) == "InvalidParameter.JobIdMalformed"


UNKNOWN_JOBS: dict[str, tuple[str, dict[str, Any]]] = {
    "describe-job": ("DescribeJob", {"JobId": UNKNOWN_JOB}),
    "submit-info": ("DescribeJobSubmitInfo", {"JobId": UNKNOWN_JOB}),
    "describe-task": ("DescribeTask", {"JobId": UNKNOWN_JOB, "TaskName": "a"}),
    "task-logs": ("DescribeTaskLogs", {"JobId": UNKNOWN_JOB, "TaskName": "a"}),
}


@pytest.mark.parametrize(("action", "params"), UNKNOWN_JOBS.values(), ids=UNKNOWN_JOBS.keys())
def test_well_formed_unknown_job_id_is_resource_not_found_job(
    sdk: batch_client.BatchClient, action: str, params: dict[str, Any]
) -> None:
    assert sdk_code(lambda: call(sdk, action, params)) == "ResourceNotFound.Job"


def test_describe_jobs_with_unknown_job_id_is_empty(sdk: batch_client.BatchClient) -> None:
    jobs = call(sdk, "DescribeJobs", {"JobIds": [UNKNOWN_JOB]})
    assert (jobs.TotalCount, jobs.JobSet) == (0, [])


@pytest.mark.parametrize("action", ["DescribeTask", "DescribeTaskLogs"])
def test_unknown_task_name_is_resource_not_found_task(
    sdk: batch_client.BatchClient, job_id: str, action: str
) -> None:
    params = {"JobId": job_id, "TaskName": "nosuchtask"}
    assert sdk_code(lambda: call(sdk, action, params)) == "ResourceNotFound.Task"


def test_task_logs_index_out_of_range_is_resource_not_found_task_instance(
    sdk: batch_client.BatchClient, job_id: str
) -> None:
    params = {"JobId": job_id, "TaskName": "a", "TaskInstanceIndexes": [0, 2]}
    assert sdk_code(lambda: call(sdk, "DescribeTaskLogs", params)) == "ResourceNotFound.TaskInstance"


def test_task_logs_indexes_in_range_are_returned(sdk: batch_client.BatchClient, job_id: str) -> None:
    params = {"JobId": job_id, "TaskName": "a", "TaskInstanceIndexes": [1]}
    logs = call(sdk, "DescribeTaskLogs", params)
    assert [log.TaskInstanceIndex for log in logs.TaskInstanceLogSet] == [1]


# ---------------------------------------------------------------------------------------------------
# Parameter combinations, filters and limits.


def test_describe_jobs_with_job_ids_and_filters_is_invalid_combination(sdk: batch_client.BatchClient) -> None:
    params = {"JobIds": [UNKNOWN_JOB], "Filters": [{"Name": "job-state", "Values": ["RUNNING"]}]}
    code = sdk_code(lambda: call(sdk, "DescribeJobs", params))
    assert code == "InvalidParameter.InvalidParameterCombination"


def test_task_logs_with_indexes_and_offset_is_invalid_combination(
    sdk: batch_client.BatchClient, job_id: str
) -> None:
    params = {"JobId": job_id, "TaskName": "a", "TaskInstanceIndexes": [0], "Offset": 0}
    code = sdk_code(lambda: call(sdk, "DescribeTaskLogs", params))
    assert code == "InvalidParameter.InvalidParameterCombination"


def test_describe_jobs_unknown_filter_name_is_invalid_filter(sdk: batch_client.BatchClient) -> None:
    params = {"Filters": [{"Name": "colour", "Values": ["blue"]}]}
    assert sdk_code(lambda: call(sdk, "DescribeJobs", params)) == "InvalidFilter"


def test_describe_task_unknown_filter_name_is_invalid_filter(
    sdk: batch_client.BatchClient, job_id: str
) -> None:
    params = {"JobId": job_id, "TaskName": "a", "Filters": [{"Name": "task-state", "Values": ["FAILED"]}]}
    assert sdk_code(lambda: call(sdk, "DescribeTask", params)) == "InvalidFilter"


def test_describe_task_unknown_instance_state_is_invalid_filter_value(
    sdk: batch_client.BatchClient, job_id: str
) -> None:
    filters = [{"Name": "task-instance-state", "Values": ["SUCCEED", "DONE"]}]
    params = {"JobId": job_id, "TaskName": "a", "Filters": filters}
    assert sdk_code(lambda: call(sdk, "DescribeTask", params)) == "InvalidParameterValue.InvalidFilter"


LIMITS: dict[str, tuple[str, int]] = {
    "describe-jobs": ("DescribeJobs", 100),
    "describe-task": ("DescribeTask", 1000),
    "task-logs": ("DescribeTaskLogs", 10),
}


def _paged(action: str, job_id: str, limit: int) -> dict[str, Any]:
    if action == "DescribeJobs":
        return {"Limit": limit}
    return {"JobId": job_id, "TaskName": "a", "Limit": limit}


@pytest.mark.parametrize(("action", "maximum"), LIMITS.values(), ids=LIMITS.keys())
def test_limit_above_maximum_is_limit_exceeded(
    sdk: batch_client.BatchClient, job_id: str, action: str, maximum: int
) -> None:
    params = _paged(action, job_id, maximum + 1)
    assert sdk_code(lambda: call(sdk, action, params)) == "InvalidParameterValue.LimitExceeded"


@pytest.mark.parametrize(("action", "maximum"), LIMITS.values(), ids=LIMITS.keys())
def test_limit_at_maximum_is_accepted(
    sdk: batch_client.BatchClient, job_id: str, action: str, maximum: int
) -> None:
    assert call(sdk, action, _paged(action, job_id, maximum)).RequestId


# ---------------------------------------------------------------------------------------------------
# SubmitJob validation: each case starts from a valid request and breaks one thing.


def valid_request() -> dict[str, Any]:
    return {
        "Placement": {"Zone": ZONE},
        "Job": {"JobName": "valid", "Tasks": [task("first", "true"), task("second", "true")]},
    }


Edit = Callable[[dict[str, Any]], None]


def _job(**members: Any) -> Edit:
    return lambda r: r["Job"].update(members)


def _second_task(**members: Any) -> Edit:
    """Breaks the second task, so a half-validated first task would show up if anything were stored."""
    return lambda r: r["Job"]["Tasks"][1].update(members)


def _drop_compute_env(r: dict[str, Any]) -> None:
    del r["Job"]["Tasks"][1]["ComputeEnv"]


def _env_id_only(env_id: str) -> Edit:
    def edit(r: dict[str, Any]) -> None:
        _drop_compute_env(r)
        r["Job"]["Tasks"][1]["EnvId"] = env_id

    return edit


def _instance_type(name: str) -> Edit:
    return lambda r: r["Job"]["Tasks"][1]["ComputeEnv"]["EnvData"].update(InstanceType=name)


def _zone(zone: str) -> Edit:
    return lambda r: r["Placement"].update(Zone=zone)


def _env_data(**members: Any) -> Edit:
    return lambda r: r["Job"]["Tasks"][1]["ComputeEnv"]["EnvData"].update(members)


def _notify(topic: str, *events: str) -> Edit:
    configs = [{"EventName": e, "EventVars": []} for e in events]
    return _job(Notifications=[{"TopicName": topic, "EventConfigs": configs}])


def _depends(*edges: tuple[str, str]) -> Edit:
    return _job(Dependences=[{"StartTask": a, "EndTask": b} for a, b in edges])


SUBMIT_CASES: dict[str, tuple[Edit, str]] = {
    "job-name-61": (_job(JobName="n" * 61), "InvalidParameter.JobNameTooLong"),
    "description-201": (_job(JobDescription="d" * 201), "InvalidParameter.JobDescriptionTooLong"),
    "task-name-61": (_second_task(TaskName="t" * 61), "InvalidParameter.TaskNameTooLong"),
    "task-name-space": (_second_task(TaskName="has space"), "InvalidParameter.TaskName"),
    "task-name-slash": (_second_task(TaskName="a/b"), "InvalidParameter.TaskName"),
    "task-name-duplicate": (_second_task(TaskName="first"), "InvalidParameter.TaskName"),
    "dependence-unknown": (
        _depends(("first", "ghost")),
        "InvalidParameterValue.DependenceNotFoundTaskName",
    ),
    "dependence-cycle": (
        _depends(("first", "second"), ("second", "first")),
        "InvalidParameterValue.DependenceUnfeasible",
    ),
    "dependence-self-loop": (_depends(("second", "second")), "InvalidParameterValue.DependenceUnfeasible"),
    "instance-num-zero": (_second_task(TaskInstanceNum=0), "InvalidParameterValue.TaskInstanceNum"),
    "instance-num-negative": (_second_task(TaskInstanceNum=-1), "InvalidParameterValue.Negative"),
    "neither-env": (_drop_compute_env, "AllowedOneAttributeInEnvIdAndComputeEnv"),
    "both-envs": (_second_task(EnvId="env-abcdefgh"), "AllowedOneAttributeInEnvIdAndComputeEnv"),
    "env-id-malformed": (_env_id_only("env-BAD"), "InvalidParameter.EnvIdMalformed"),
    "env-id-unknown": (_env_id_only("env-abcdefgh"), "ResourceNotFound.ComputeEnv"),
    "instance-type": (_instance_type("X9.HUGE"), "InvalidParameterValue.InstanceType"),
    "redirect-scheme": (
        _second_task(RedirectInfo={"StdoutRedirectPath": "s3://x/"}),
        "InvalidParameterValue.RemoteStorageSchemeType",
    ),
    "redirect-no-slash": (
        _second_task(RedirectInfo={"StderrRedirectPath": COS_DIR.rstrip("/")}),
        "InvalidParameterValue.RemoteStoragePath",
    ),
    "zone-other-region": (_zone("ap-shanghai-2"), "InvalidZone.MismatchRegion"),
    "zone-unknown": (_zone("ap-guangzhou-99"), "InvalidParameterValue.UnavailableZone"),
    "max-retry-11": (_second_task(MaxRetryCount=11), "InvalidParameterValue.MaxRetryCount"),
    "image-id": (_env_data(ImageId="img-BAD"), "InvalidParameter.ImageIdMalformed"),
    "env-zones": (_env_data(Zones=["ap-shanghai-2"]), "InvalidParameterValue.InvalidZoneMismatchRegion"),
    "disk-type": (
        _env_data(SystemDisk={"DiskType": "FLOPPY", "DiskSize": 50}),
        "InvalidParameter.CvmParameters",
    ),
    "disk-size": (_env_data(DataDisks=[{"DiskSize": 0}]), "InvalidParameter.CvmParameters"),
    "instance-type-twice": (
        _env_data(InstanceTypes=["S2.SMALL1", "S2.SMALL1"]),
        "InvalidParameterValue.InstanceTypeDuplicate",
    ),
    "env-type": (
        _second_task(ComputeEnv={"EnvType": "THPC", "EnvData": {}}),
        "InvalidParameterValue.ComputeEnv",
    ),
    "no-instance-type": (_second_task(ComputeEnv={"EnvData": {}}), "InvalidParameterValue.ComputeEnv"),
    "eleven-tags": (
        _job(Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(11)]),
        "InvalidParameterValue.LimitExceeded",
    ),
    "local-path": (
        _second_task(RedirectLocalInfo={"StdoutLocalPath": "relative/logs/"}),
        "InvalidParameterValue.LocalPath",
    ),
    "topic-too-long": (_notify("t" * 65, "JOB_SUCCEED"), "InvalidParameter.NotificationTopicNameTooLong"),
    "topic-name": (_notify("1bad topic", "JOB_SUCCEED"), "InvalidParameter.NotificationTopicName"),
    "event-twice": (
        _notify("topic", "JOB_SUCCEED", "JOB_SUCCEED"),
        "InvalidParameter.NotificationEventNameDuplicate",
    ),
    # A topic must be one of the server's (tests/api/test_notifications.py has servers that have some).
    "topic-not-configured": (_notify("topic", "JOB_SUCCEED"), "InvalidParameter.NotificationTopicName"),
    "command-and-commands": (
        _second_task(Application={"Command": "true", "Commands": [{"Command": "true"}]}),
        "InvalidParameter.InvalidParameterCombination",
    ),
    "state-if-create-cvm-failed": (_job(StateIfCreateCvmFailed="SUCCEED"), "InvalidParameterValue"),
    "notification-target": (_job(NotificationTarget="SNS"), "InvalidParameterValue"),
    "tag-key-100k": (_job(Tags=[{"Key": "k" * 100_000, "Value": "v"}]), "InvalidParameterValue"),
    "tag-key-empty": (_job(Tags=[{"Key": "", "Value": "v"}]), "InvalidParameterValue"),
    "tag-key-twice": (
        _job(Tags=[{"Key": "k", "Value": "v"}, {"Key": "k", "Value": "w"}]),
        "InvalidParameterValue",
    ),
    "instances-over-a-million": (
        _job(Tasks=[task(f"t{i}", "true", TaskInstanceNum=100_000) for i in range(11)]),
        "InvalidParameterValue.TaskInstanceNum",
    ),
    "tag-value-256": (_job(Tags=[{"Key": "k", "Value": "v" * 256}]), "InvalidParameterValue"),
    "log-name-climbs": (
        _second_task(RedirectInfo={"StdoutRedirectPath": COS_DIR, "StdoutRedirectFileName": "../../x"}),
        "InvalidParameterValue.RemoteStoragePath",
    ),
    "log-name-dot-dot": (
        _second_task(RedirectInfo={"StderrRedirectPath": COS_DIR, "StderrRedirectFileName": ".."}),
        "InvalidParameterValue.RemoteStoragePath",
    ),
    "log-name-256-bytes": (
        _second_task(RedirectInfo={"StdoutRedirectPath": COS_DIR, "StdoutRedirectFileName": "é" * 128}),
        "InvalidParameterValue.RemoteStoragePath",
    ),
    "log-name-expands-past-255": (
        _second_task(
            TaskName="t" * 60,
            RedirectInfo={"StdoutRedirectPath": COS_DIR, "StdoutRedirectFileName": "${BATCH_TASK_NAME}" * 5},
        ),
        "InvalidParameterValue.RemoteStoragePath",
    ),
    "redirect-segment-256": (
        _second_task(RedirectInfo={"StdoutRedirectPath": COS_DIR + "s" * 256 + "/"}),
        "InvalidParameterValue.RemoteStoragePath",
    ),
    "redirect-key-over-1k": (
        _second_task(RedirectInfo={"StdoutRedirectPath": COS_DIR + "k" * 200 + "/" + "e" * 200 * 5 + "/"}),
        "InvalidParameterValue.RemoteStoragePath",
    ),
    "redirect-key-with-name-over-1k": (
        _second_task(RedirectInfo={"StderrRedirectPath": COS_DIR + "/".join(["k" * 200] * 5) + "/"}),
        "InvalidParameterValue.RemoteStoragePath",
    ),
    "command-over-64k": (_second_task(Application={"Command": "#" * 65_537}), "InvalidParameterValue"),
    "env-vars-over-64k": (
        _second_task(EnvVars=[{"Name": f"V{i}", "Value": "x" * 20_000} for i in range(4)]),
        "InvalidParameterValue",
    ),
}


@pytest.mark.parametrize(("edit", "code"), SUBMIT_CASES.values(), ids=SUBMIT_CASES.keys())
def test_invalid_submit_job_is_refused_and_stores_nothing(
    sdk: batch_client.BatchClient, edit: Edit, code: str
) -> None:
    request = valid_request()
    edit(request)
    before = total_jobs(sdk)
    assert sdk_code(lambda: call(sdk, "SubmitJob", request)) == code
    assert total_jobs(sdk) == before


def test_negative_task_instance_num_over_get_is_negative(srv: Server, sdk: batch_client.BatchClient) -> None:
    """GET sends "-1" as a string; it must be read as a number, not refused as a bad type."""
    getter = make_client(srv.endpoint, http={"reqMethod": "GET"})
    request = valid_request()
    _second_task(TaskInstanceNum=-1)(request)
    before = total_jobs(sdk)
    assert sdk_code(lambda: call(getter, "SubmitJob", request)) == "InvalidParameterValue.Negative"
    assert total_jobs(sdk) == before


def test_values_at_their_limits_are_accepted(sdk: batch_client.BatchClient) -> None:
    """The boundary of every length and range rule above is itself valid."""
    request = valid_request()
    request["Job"].update(JobName="n" * 60, JobDescription="d" * 200)
    request["Job"]["Tasks"][1].update(
        TaskName="T_-9" * 15, MaxRetryCount=10, RedirectInfo={"StdoutRedirectPath": COS_DIR}
    )
    request["Job"]["Dependences"] = [{"StartTask": "first", "EndTask": "T_-9" * 15}]
    before = total_jobs(sdk)
    job_id = call(sdk, "SubmitJob", copy.deepcopy(request)).JobId
    assert total_jobs(sdk) == before + 1
    info = call(sdk, "DescribeJobSubmitInfo", {"JobId": job_id})
    assert (info.JobName, info.Tasks[1].TaskName) == ("n" * 60, "T_-9" * 15)


# ---------------------------------------------------------------------------------------------------
# Scoping: a region sees only its own jobs.


def test_job_is_invisible_from_another_region(srv: Server, sdk: batch_client.BatchClient) -> None:
    job = submit(sdk, task("a", "true"))
    shanghai = make_client(srv.endpoint, region="ap-shanghai")
    assert sdk_code(lambda: call(shanghai, "DescribeJob", {"JobId": job})) == "ResourceNotFound.Job"
    assert sdk_code(lambda: call(shanghai, "DescribeJobSubmitInfo", {"JobId": job})) == "ResourceNotFound.Job"
    assert call(shanghai, "DescribeJobs", {"JobIds": [job]}).TotalCount == 0
    listed = call(shanghai, "DescribeJobs", {"Limit": 100}).JobSet
    assert job not in [j.JobId for j in listed]
    assert call(sdk, "DescribeJob", {"JobId": job}).JobId == job


LOOKUP_CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "logs-task-name": ("DescribeTaskLogs", {"TaskName": "bad name"}, "InvalidParameter.TaskName"),
    "logs-task-name-long": ("DescribeTaskLogs", {"TaskName": "t" * 61}, "InvalidParameter.TaskNameTooLong"),
    "logs-negative-offset": (
        "DescribeTaskLogs",
        {"TaskName": "a", "Offset": -1},
        "InvalidParameterValue.Negative",
    ),
    "logs-too-many-indexes": (
        "DescribeTaskLogs",
        {"TaskName": "a", "TaskInstanceIndexes": [0, 1, 0, 1, 0, 1]},
        "InvalidParameterValue.LimitExceeded",
    ),
    "jobs-foreign-zone": (
        "DescribeJobs",
        {"Filters": [{"Name": "zone", "Values": ["ap-shanghai-2"]}]},
        "InvalidZone.MismatchRegion",
    ),
}


@pytest.mark.parametrize(("action", "params", "code"), LOOKUP_CASES.values(), ids=LOOKUP_CASES.keys())
def test_lookup_parameters_are_checked(
    sdk: batch_client.BatchClient, job_id: str, action: str, params: dict[str, Any], code: str
) -> None:
    request = {"JobId": job_id, **params} if action != "DescribeJobs" else params
    assert sdk_code(lambda: call(sdk, action, request)) == code
