"""Task templates through the official SDK: create, list, modify, delete, and every error code they give.

The module's server knows two accounts, so scoping is tested with real key pairs; a second server
with a quota of two templates tests the quota. A template's task is refused exactly as SubmitJob
refuses the same task: each such case sends the task both ways and compares the answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from tencentcloud.batch.v20170312 import batch_client
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from batchyard.config.settings import DEFAULT_RATE_LIMITS
from conftest import (
    OTHER_ID,
    OTHER_KEY,
    ZONE,
    Server,
    call,
    make_client,
    running,
    submit,
    task,
    two_account_server,
)

UNKNOWN = "task-tmpl-abcdefgh"
UNKNOWN_ENV = "env-abcdefgh"
TEMPLATE_ID = re.compile(r"task-tmpl-[a-z0-9]{8}")
CREATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
COS_DIR = "cos://logs-1250000000.cos.ap-guangzhou.myqcloud.com/logs/"
QUOTA = 2


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    config = "[quotas]\ntask_templates = 1000\n"
    yield from running(two_account_server(tmp_path_factory.mktemp("templates") / "data", config))


@pytest.fixture(scope="module")
def other(srv: Server) -> batch_client.BatchClient:
    """The second account's client."""
    return make_client(srv.endpoint, keys=(OTHER_ID, OTHER_KEY))


def info(name: str = "render", command: str = "echo hi", **extra: Any) -> dict[str, Any]:
    """A template's task: a SubmitJob task with an anonymous environment."""
    return task(name, command, **extra)


def create(
    client: batch_client.BatchClient,
    name: str = "tmpl",
    template: dict[str, Any] | None = None,
    **members: Any,
) -> str:
    params = {"TaskTemplateName": name, "TaskTemplateInfo": template or info(), **members}
    return str(call(client, "CreateTaskTemplate", params).TaskTemplateId)


def listed(client: batch_client.BatchClient, **params: Any) -> list[str]:
    return [t.TaskTemplateId for t in call(client, "DescribeTaskTemplates", params).TaskTemplateSet]


def filtered(client: batch_client.BatchClient, *filters: dict[str, Any]) -> list[str]:
    return listed(client, Filters=list(filters))


def total(client: batch_client.BatchClient) -> int:
    return int(call(client, "DescribeTaskTemplates", {}).TotalCount)


def raw_view(client: batch_client.BatchClient, template_id: str) -> dict[str, Any]:
    """The template as the wire carries it, nulls included."""
    reply = client.call_json("DescribeTaskTemplates", {"TaskTemplateIds": [template_id]})
    (view,) = reply["Response"]["TaskTemplateSet"]
    return dict(view)


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def create_env(client: batch_client.BatchClient, name: str) -> str:
    """A named environment without nodes."""
    spec = {"EnvName": name, "DesiredComputeNodeCount": 0, "EnvData": {"InstanceType": "S2.SMALL1"}}
    return str(call(client, "CreateComputeEnv", {"ComputeEnv": spec, "Placement": {"Zone": ZONE}}).EnvId)


def env_task(env_id: str) -> dict[str, Any]:
    return {"TaskName": "in-env", "Application": {"Command": "true"}, "EnvId": env_id}


def sdk_error(action: Callable[[], Any]) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as caught:
        action()
    return caught.value


def sdk_code(action: Callable[[], Any]) -> str:
    return str(sdk_error(action).code)


@pytest.fixture(scope="module")
def template_id(sdk: batch_client.BatchClient) -> str:
    """A template the refusals below must leave as it is."""
    return create(sdk, "lookups", TaskTemplateDescription="kept")


# ---------------------------------------------------------------------------------------------------
# Shapes.


def test_create_then_describe_returns_the_template_as_given(sdk: batch_client.BatchClient) -> None:
    given = info(
        "render",
        "echo $GREETING",
        TaskInstanceNum=3,
        EnvVars=[{"Name": "GREETING", "Value": "hi"}],
        RedirectInfo={
            "StdoutRedirectPath": COS_DIR,
            "StdoutRedirectFileName": "out.${BATCH_TASK_INSTANCE_INDEX}",
        },
        MaxRetryCount=2,
        Timeout=600,
        FailedAction="INTERRUPT",
    )
    tags = [{"Key": "team", "Value": "render"}, {"Key": "tier", "Value": "gold"}]
    template_id = create(sdk, "shapes", given, TaskTemplateDescription="for shapes", Tags=tags)
    assert TEMPLATE_ID.fullmatch(template_id)
    view = raw_view(sdk, template_id)
    assert (view["TaskTemplateId"], view["TaskTemplateName"]) == (template_id, "shapes")
    assert (view["TaskTemplateDescription"], view["Tags"]) == ("for shapes", tags)
    assert CREATE_TIME.fullmatch(view["CreateTime"])
    assert without_nulls(view["TaskTemplateInfo"]) == given
    # Unset members read as null, as in DescribeJobSubmitInfo.
    assert view["TaskTemplateInfo"]["EnvId"] is None


def test_description_and_tags_default_to_empty(sdk: batch_client.BatchClient) -> None:
    view = raw_view(sdk, create(sdk, "bare"))
    assert (view["TaskTemplateDescription"], view["Tags"]) == ("", [])


def test_create_over_get_stores_numbers_as_numbers(srv: Server) -> None:
    """GET flattens every leaf to a string, as the official example's query does."""
    getter = make_client(srv.endpoint, http={"reqMethod": "GET"})
    template_id = create(getter, "over-get", info(TaskInstanceNum=4, RestartComputeNode=True))
    stored = raw_view(getter, template_id)["TaskTemplateInfo"]
    assert (stored["TaskInstanceNum"], stored["RestartComputeNode"]) == (4, True)


def test_template_may_name_a_usable_environment(sdk: batch_client.BatchClient) -> None:
    env_id = create_env(sdk, "for-templates")
    template_id = create(sdk, "named-env", env_task(env_id))
    assert raw_view(sdk, template_id)["TaskTemplateInfo"]["EnvId"] == env_id


def test_values_at_their_limits_are_accepted(sdk: batch_client.BatchClient) -> None:
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(10)]
    template_id = create(sdk, "n" * 60, TaskTemplateDescription="d" * 200, Tags=tags)
    view = raw_view(sdk, template_id)
    assert (view["TaskTemplateName"], view["TaskTemplateDescription"]) == ("n" * 60, "d" * 200)
    assert listed(sdk, Limit=100)


# ---------------------------------------------------------------------------------------------------
# Modify and delete.


def test_modify_changes_only_the_members_given(sdk: batch_client.BatchClient) -> None:
    tags = [{"Key": "stays", "Value": "yes"}]
    template_id = create(sdk, "before", TaskTemplateDescription="first", Tags=tags)
    created = raw_view(sdk, template_id)
    call(sdk, "ModifyTaskTemplate", {"TaskTemplateId": template_id, "TaskTemplateName": "after"})
    view = raw_view(sdk, template_id)
    assert (view["TaskTemplateName"], view["TaskTemplateDescription"]) == ("after", "first")
    assert view["TaskTemplateInfo"] == created["TaskTemplateInfo"]
    call(sdk, "ModifyTaskTemplate", {"TaskTemplateId": template_id, "TaskTemplateDescription": ""})
    assert raw_view(sdk, template_id)["TaskTemplateDescription"] == ""
    replacement = info("second", "echo two", TaskInstanceNum=5)
    call(sdk, "ModifyTaskTemplate", {"TaskTemplateId": template_id, "TaskTemplateInfo": replacement})
    view = raw_view(sdk, template_id)
    assert without_nulls(view["TaskTemplateInfo"]) == replacement
    assert (view["TaskTemplateName"], view["Tags"]) == ("after", tags)
    assert view["CreateTime"] == created["CreateTime"]


def test_delete_removes_every_template_named_once_even_if_named_twice(sdk: batch_client.BatchClient) -> None:
    a, b, kept = create(sdk, "del-a"), create(sdk, "del-b"), create(sdk, "del-kept")
    before = total(sdk)
    call(sdk, "DeleteTaskTemplates", {"TaskTemplateIds": [a, b, a]})
    assert listed(sdk, TaskTemplateIds=[a, b, kept]) == [kept]
    assert total(sdk) == before - 2
    code = sdk_code(lambda: call(sdk, "ModifyTaskTemplate", {"TaskTemplateId": a, "TaskTemplateName": "x"}))
    assert code == "ResourceNotFound.TaskTemplate"


BAD_IDS = {
    "unknown": (UNKNOWN, "ResourceNotFound.TaskTemplate"),
    "malformed": ("task-tmpl-BAD", "InvalidParameter.TaskTemplateIdMalformed"),
}


@pytest.mark.parametrize(("bad", "code"), BAD_IDS.values(), ids=BAD_IDS.keys())
def test_delete_with_one_bad_id_deletes_none(sdk: batch_client.BatchClient, bad: str, code: str) -> None:
    first, last = create(sdk, "atomic-first"), create(sdk, "atomic-last")
    assert sdk_code(lambda: call(sdk, "DeleteTaskTemplates", {"TaskTemplateIds": [first, bad, last]})) == code
    assert listed(sdk, TaskTemplateIds=[first, last]) == [last, first]


# ---------------------------------------------------------------------------------------------------
# Lists: by id, by each filter, and paging.


def test_lists_by_id_newest_first(sdk: batch_client.BatchClient) -> None:
    a, b = create(sdk, "by-id-a"), create(sdk, "by-id-b")
    assert listed(sdk, TaskTemplateIds=[a, b, UNKNOWN]) == [b, a]
    assert listed(sdk, TaskTemplateIds=[a]) == [a]


def test_lists_filter_by_name_and_tags(sdk: batch_client.BatchClient) -> None:
    """OR between the values of a filter, AND between filters."""
    a = create(sdk, "flt-a", Tags=[{"Key": "flt", "Value": "fa"}, {"Key": "flt-colour", "Value": "red"}])
    b = create(sdk, "flt-b", Tags=[{"Key": "flt", "Value": "fb"}])
    c = create(sdk, "flt-b", Tags=[{"Key": "flt-other", "Value": "fa"}])
    assert filtered(sdk, {"Name": "task-template-name", "Values": ["flt-b"]}) == [c, b]
    assert filtered(sdk, {"Name": "task-template-name", "Values": ["flt-a", "flt-b"]}) == [c, b, a]
    assert filtered(sdk, {"Name": "tag-key", "Values": ["flt"]}) == [b, a]
    assert filtered(sdk, {"Name": "tag-key", "Values": ["flt-colour", "flt-other"]}) == [c, a]
    assert filtered(sdk, {"Name": "tag-value", "Values": ["fa"]}) == [c, a]
    assert filtered(sdk, {"Name": "tag:flt", "Values": ["fa"]}) == [a]
    assert filtered(sdk, {"Name": "tag:flt", "Values": ["fa", "fb"]}) == [b, a]
    both = ({"Name": "tag-key", "Values": ["flt"]}, {"Name": "task-template-name", "Values": ["flt-b"]})
    assert filtered(sdk, *both) == [b]
    neither = ({"Name": "tag:flt-colour", "Values": ["red"]}, {"Name": "tag-value", "Values": ["fb"]})
    assert filtered(sdk, *neither) == []


def test_pages_twenty_by_default_with_the_total_before_paging(sdk: batch_client.BatchClient) -> None:
    made = [create(sdk, f"page-{i}", Tags=[{"Key": "paging", "Value": "yes"}]) for i in range(23)]
    newest_first = made[::-1]
    by_tag = {"Filters": [{"Name": "tag-key", "Values": ["paging"]}]}
    first = call(sdk, "DescribeTaskTemplates", by_tag)
    assert (first.TotalCount, [t.TaskTemplateId for t in first.TaskTemplateSet]) == (23, newest_first[:20])
    assert listed(sdk, **by_tag, Offset=20, Limit=2) == newest_first[20:22]
    assert listed(sdk, **by_tag, Offset=22, Limit=100) == newest_first[22:]
    beyond = call(sdk, "DescribeTaskTemplates", {**by_tag, "Offset": 30})
    assert (beyond.TotalCount, beyond.TaskTemplateSet) == (23, [])


# ---------------------------------------------------------------------------------------------------
# Scoping.


def test_another_account_or_region_cannot_see_change_or_delete_a_template(
    srv: Server, sdk: batch_client.BatchClient, other: batch_client.BatchClient, template_id: str
) -> None:
    shanghai = make_client(srv.endpoint, region="ap-shanghai")
    for client in (other, shanghai):
        assert listed(client, TaskTemplateIds=[template_id]) == []
        assert template_id not in listed(client, Limit=100)
        modify = {"TaskTemplateId": template_id, "TaskTemplateName": "stolen"}
        assert (
            sdk_code(partial(call, client, "ModifyTaskTemplate", modify)) == "ResourceNotFound.TaskTemplate"
        )
        delete = {"TaskTemplateIds": [template_id]}
        assert (
            sdk_code(partial(call, client, "DeleteTaskTemplates", delete)) == "ResourceNotFound.TaskTemplate"
        )
    assert raw_view(sdk, template_id)["TaskTemplateName"] == "lookups"


def test_an_environment_of_another_account_cannot_be_named(
    sdk: batch_client.BatchClient, other: batch_client.BatchClient
) -> None:
    theirs = env_task(create_env(other, "theirs"))
    assert sdk_code(lambda: create(sdk, "not-mine", theirs)) == "ResourceNotFound.ComputeEnv"


# ---------------------------------------------------------------------------------------------------
# The template's task is refused as SubmitJob refuses the same task.

TaskEdit = Callable[[dict[str, Any]], None]


def _with(**members: Any) -> TaskEdit:
    return lambda t: t.update(members)


def _without(member: str) -> TaskEdit:
    return lambda t: t.pop(member)


def _env_data(**members: Any) -> TaskEdit:
    return lambda t: t["ComputeEnv"]["EnvData"].update(members)


def _env_id(env_id: str) -> TaskEdit:
    def edit(t: dict[str, Any]) -> None:
        del t["ComputeEnv"]
        t["EnvId"] = env_id

    return edit


TASK_CASES: dict[str, tuple[TaskEdit, str]] = {
    "no-task-name": (_without("TaskName"), "MissingParameter"),
    "task-name-space": (_with(TaskName="has space"), "InvalidParameter.TaskName"),
    "task-name-61": (_with(TaskName="t" * 61), "InvalidParameter.TaskNameTooLong"),
    "instance-num-zero": (_with(TaskInstanceNum=0), "InvalidParameterValue.TaskInstanceNum"),
    "instance-num-negative": (_with(TaskInstanceNum=-1), "InvalidParameterValue.Negative"),
    "neither-env": (_without("ComputeEnv"), "AllowedOneAttributeInEnvIdAndComputeEnv"),
    "both-envs": (_with(EnvId=UNKNOWN_ENV), "AllowedOneAttributeInEnvIdAndComputeEnv"),
    "env-id-malformed": (_env_id("env-BAD"), "InvalidParameter.EnvIdMalformed"),
    "env-id-unknown": (_env_id(UNKNOWN_ENV), "ResourceNotFound.ComputeEnv"),
    "instance-type": (_env_data(InstanceType="X9.HUGE"), "InvalidParameterValue.InstanceType"),
    "env-type": (_with(ComputeEnv={"EnvType": "THPC", "EnvData": {}}), "InvalidParameterValue.ComputeEnv"),
    "image-id": (_env_data(ImageId="img-BAD"), "InvalidParameter.ImageIdMalformed"),
    "disk-type": (
        _env_data(SystemDisk={"DiskType": "FLOPPY", "DiskSize": 50}),
        "InvalidParameter.CvmParameters",
    ),
    "env-zones": (_env_data(Zones=["ap-shanghai-2"]), "InvalidParameterValue.InvalidZoneMismatchRegion"),
    "redirect-scheme": (
        _with(RedirectInfo={"StdoutRedirectPath": "s3://x/"}),
        "InvalidParameterValue.RemoteStorageSchemeType",
    ),
    "redirect-no-slash": (
        _with(RedirectInfo={"StderrRedirectPath": COS_DIR.rstrip("/")}),
        "InvalidParameterValue.RemoteStoragePath",
    ),
    "log-name-climbs": (
        _with(RedirectInfo={"StdoutRedirectPath": COS_DIR, "StdoutRedirectFileName": "../../x"}),
        "InvalidParameterValue.RemoteStoragePath",
    ),
    "local-path": (
        _with(RedirectLocalInfo={"StdoutLocalPath": "relative/logs/"}),
        "InvalidParameterValue.LocalPath",
    ),
    "max-retry-11": (_with(MaxRetryCount=11), "InvalidParameterValue.MaxRetryCount"),
    "timeout-zero": (_with(Timeout=0), "InvalidParameterValue"),
    "failed-action": (_with(FailedAction="EXPLODE"), "InvalidParameterValue"),
    "command-and-commands": (
        _with(Application={"Command": "true", "Commands": [{"Command": "true"}]}),
        "InvalidParameter.InvalidParameterCombination",
    ),
    "command-over-64k": (_with(Application={"Command": "#" * 65_537}), "InvalidParameterValue"),
    "env-var-name": (_with(EnvVars=[{"Name": "1BAD", "Value": "x"}]), "InvalidParameterValue"),
    "input-mapping-climbs-out": (
        _with(InputMappings=[{"SourcePath": COS_DIR, "DestinationPath": "../data/"}]),
        "InvalidParameterValue.LocalPath",
    ),
}


@pytest.mark.parametrize(("edit", "code"), TASK_CASES.values(), ids=TASK_CASES.keys())
def test_template_task_is_refused_as_submit_job_refuses_the_same_task(
    sdk: batch_client.BatchClient, template_id: str, edit: TaskEdit, code: str
) -> None:
    """The same code and message, its path aside, on create and on modify; nothing is stored."""
    broken = info()
    edit(broken)
    job_error = sdk_error(lambda: submit(sdk, broken))
    assert job_error.code == code
    expected = (code, job_error.message.replace("Job.Tasks.0", "TaskTemplateInfo"))
    stored = raw_view(sdk, template_id)
    before = total(sdk)
    requests = {
        "CreateTaskTemplate": {"TaskTemplateName": "broken", "TaskTemplateInfo": broken},
        "ModifyTaskTemplate": {"TaskTemplateId": template_id, "TaskTemplateInfo": broken},
    }
    for action, params in requests.items():
        error = sdk_error(partial(call, sdk, action, params))
        assert (error.code, error.message) == expected, action
    assert (total(sdk), raw_view(sdk, template_id)) == (before, stored)


# ---------------------------------------------------------------------------------------------------
# The templates' own error codes.


def valid_create() -> dict[str, Any]:
    return {"TaskTemplateName": "valid", "TaskTemplateInfo": info()}


CREATE_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "no-name": ({"TaskTemplateName": None}, "MissingParameter"),
    "no-info": ({"TaskTemplateInfo": None}, "MissingParameter"),
    "name-empty": ({"TaskTemplateName": ""}, "InvalidParameter.TaskTemplateName"),
    "name-blank": ({"TaskTemplateName": "   "}, "InvalidParameter.TaskTemplateName"),
    "name-newline": ({"TaskTemplateName": "two\nlines"}, "InvalidParameter.TaskTemplateName"),
    "name-61": ({"TaskTemplateName": "n" * 61}, "InvalidParameter.TaskTemplateNameTooLong"),
    "description-201": (
        {"TaskTemplateDescription": "d" * 201},
        "InvalidParameter.TaskTemplateDescriptionTooLong",
    ),
    "eleven-tags": (
        {"Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]},
        "InvalidParameterValue.LimitExceeded",
    ),
    "tag-key-twice": (
        {"Tags": [{"Key": "k", "Value": "v"}, {"Key": "k", "Value": "w"}]},
        "InvalidParameterValue",
    ),
    "tag-key-empty": ({"Tags": [{"Key": "", "Value": "v"}]}, "InvalidParameterValue"),
}


@pytest.mark.parametrize(("changes", "code"), CREATE_CASES.values(), ids=CREATE_CASES.keys())
def test_invalid_create_task_template_is_refused_and_stores_nothing(
    sdk: batch_client.BatchClient, changes: dict[str, Any], code: str
) -> None:
    request = {**valid_create(), **changes}
    request = {k: v for k, v in request.items() if v is not None}
    before = total(sdk)
    assert sdk_code(lambda: call(sdk, "CreateTaskTemplate", request)) == code
    assert total(sdk) == before


MODIFY_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "nothing-to-change": ({}, "InvalidParameterAtLeastOneAttribute"),
    "malformed-id": (
        {"TaskTemplateId": "task-tmpl-BAD", "TaskTemplateName": "x"},
        "InvalidParameter.TaskTemplateIdMalformed",
    ),
    "env-id-for-template-id": (
        {"TaskTemplateId": UNKNOWN_ENV, "TaskTemplateName": "x"},
        "InvalidParameter.TaskTemplateIdMalformed",
    ),
    "unknown-id": ({"TaskTemplateId": UNKNOWN, "TaskTemplateName": "x"}, "ResourceNotFound.TaskTemplate"),
    "name-empty": ({"TaskTemplateName": ""}, "InvalidParameter.TaskTemplateName"),
    "name-61": ({"TaskTemplateName": "n" * 61}, "InvalidParameter.TaskTemplateNameTooLong"),
    "description-201": (
        {"TaskTemplateDescription": "d" * 201},
        "InvalidParameter.TaskTemplateDescriptionTooLong",
    ),
}


@pytest.mark.parametrize(("params", "code"), MODIFY_CASES.values(), ids=MODIFY_CASES.keys())
def test_invalid_modify_task_template_is_refused_and_changes_nothing(
    sdk: batch_client.BatchClient, template_id: str, params: dict[str, Any], code: str
) -> None:
    stored = raw_view(sdk, template_id)
    request = {"TaskTemplateId": template_id, **params}
    assert sdk_code(lambda: call(sdk, "ModifyTaskTemplate", request)) == code
    assert raw_view(sdk, template_id) == stored


DELETE_CASES: dict[str, tuple[list[str], str]] = {
    "malformed": (["task-tmpl-abc"], "InvalidParameter.TaskTemplateIdMalformed"),
    "unknown": ([UNKNOWN], "ResourceNotFound.TaskTemplate"),
    "none": ([], "InvalidParameterValue.LimitExceeded"),
    "over-100": ([UNKNOWN] * 101, "InvalidParameterValue.LimitExceeded"),
}


@pytest.mark.parametrize(("ids", "code"), DELETE_CASES.values(), ids=DELETE_CASES.keys())
def test_invalid_delete_task_templates_is_refused(
    sdk: batch_client.BatchClient, ids: list[str], code: str
) -> None:
    assert sdk_code(lambda: call(sdk, "DeleteTaskTemplates", {"TaskTemplateIds": ids})) == code


DESCRIBE_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "ids-and-filters": (
        {"TaskTemplateIds": [UNKNOWN], "Filters": []},
        "InvalidParameter.InvalidParameterCombination",
    ),
    "malformed-id": ({"TaskTemplateIds": ["tmpl-abcdefgh"]}, "InvalidParameter.TaskTemplateIdMalformed"),
    "over-100-ids": ({"TaskTemplateIds": [UNKNOWN] * 101}, "InvalidParameterValue.LimitExceeded"),
    "unknown-filter": ({"Filters": [{"Name": "task-template-id", "Values": [UNKNOWN]}]}, "InvalidFilter"),
    "tag-without-key": ({"Filters": [{"Name": "tag:", "Values": ["v"]}]}, "InvalidFilter"),
    "over-100-values": (
        {"Filters": [{"Name": "task-template-name", "Values": ["n"] * 101}]},
        "InvalidParameterValue.LimitExceeded",
    ),
    "over-10-filters": (
        {"Filters": [{"Name": "tag-key", "Values": ["k"]}] * 11},
        "InvalidParameterValue.LimitExceeded",
    ),
    "limit-0": ({"Limit": 0}, "InvalidParameterValue.LimitExceeded"),
    "limit-101": ({"Limit": 101}, "InvalidParameterValue.LimitExceeded"),
    "offset-negative": ({"Offset": -1}, "InvalidParameterValue"),
}


@pytest.mark.parametrize(("params", "code"), DESCRIBE_CASES.values(), ids=DESCRIBE_CASES.keys())
def test_invalid_describe_task_templates_is_refused(
    sdk: batch_client.BatchClient, params: dict[str, Any], code: str
) -> None:
    assert sdk_code(lambda: call(sdk, "DescribeTaskTemplates", params)) == code


# ---------------------------------------------------------------------------------------------------
# Quota and rate limits.


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    config = f"[quotas]\ntask_templates = {QUOTA}\n"
    yield from running(Server(tmp_path_factory.mktemp("quota") / "data", config=config))


def test_quota_counts_templates_per_account_and_region_until_deleted(small: Server) -> None:
    mine = make_client(small.endpoint)
    first = create(mine, "q1")
    create(mine, "q2")
    assert sdk_code(lambda: create(mine, "q3")) == "LimitExceeded.TaskTemplateQuota"
    assert total(mine) == QUOTA
    create(make_client(small.endpoint, region="ap-shanghai"), "elsewhere")
    call(mine, "DeleteTaskTemplates", {"TaskTemplateIds": [first]})
    create(mine, "q3")
    assert total(mine) == QUOTA


def test_template_actions_are_rate_limited_as_tencent_publishes() -> None:
    actions = ("CreateTaskTemplate", "DeleteTaskTemplates", "DescribeTaskTemplates", "ModifyTaskTemplate")
    assert [DEFAULT_RATE_LIMITS[a] for a in actions] == [2, 2, 10, 2]
