"""Wire models against the official schema (tccli ``api.json``), examples and error mapping."""

from __future__ import annotations

import json
import types
import typing
import warnings
from pathlib import Path
from typing import Any

import pytest
import tccli
from annotated_types import Ge
from pydantic.fields import FieldInfo
from tencentcloud.batch.v20170312 import models as sdk_models

from batchyard.domain.errors import ApiError
from batchyard.schema import catalog, common, compute_envs, jobs, monitor, templates
from batchyard.schema.base import ApiModel, dump, parse
from conftest import example_request

SERVICE_DIR = Path(tccli.__file__).parent / "services" / "batch" / "v20170312"
API = json.loads((SERVICE_DIR / "api.json").read_text(encoding="utf-8"))["objects"]
EXAMPLES = json.loads((SERVICE_DIR / "examples.json").read_text(encoding="utf-8"))["actions"]

REQUESTS: dict[str, type[ApiModel]] = {
    "SubmitJob": jobs.SubmitJobRequest,
    "DescribeJob": jobs.DescribeJobRequest,
    "DescribeJobs": jobs.DescribeJobsRequest,
    "DescribeJobSubmitInfo": jobs.DescribeJobSubmitInfoRequest,
    "DescribeTask": jobs.DescribeTaskRequest,
    "DescribeTaskLogs": jobs.DescribeTaskLogsRequest,
    "TerminateJob": jobs.TerminateJobRequest,
    "TerminateTaskInstance": jobs.TerminateTaskInstanceRequest,
    "RetryJobs": jobs.RetryJobsRequest,
    "DeleteJob": jobs.DeleteJobRequest,
    "CreateComputeEnv": compute_envs.CreateComputeEnvRequest,
    "DescribeComputeEnv": compute_envs.DescribeComputeEnvRequest,
    "DescribeComputeEnvs": compute_envs.DescribeComputeEnvsRequest,
    "DescribeComputeEnvCreateInfo": compute_envs.DescribeComputeEnvCreateInfoRequest,
    "DescribeComputeEnvCreateInfos": compute_envs.DescribeComputeEnvCreateInfosRequest,
    "DescribeComputeEnvActivities": compute_envs.DescribeComputeEnvActivitiesRequest,
    "ModifyComputeEnv": compute_envs.ModifyComputeEnvRequest,
    "DeleteComputeEnv": compute_envs.DeleteComputeEnvRequest,
    "TerminateComputeNode": compute_envs.TerminateComputeNodeRequest,
    "TerminateComputeNodes": compute_envs.TerminateComputeNodesRequest,
    "AttachInstances": compute_envs.AttachInstancesRequest,
    "DetachInstances": compute_envs.DetachInstancesRequest,
}
RESPONSES: dict[str, type[ApiModel]] = {
    "SubmitJob": jobs.SubmitJobResponse,
    "DescribeJob": jobs.DescribeJobResponse,
    "DescribeJobs": jobs.DescribeJobsResponse,
    "DescribeJobSubmitInfo": jobs.DescribeJobSubmitInfoResponse,
    "DescribeTask": jobs.DescribeTaskResponse,
    "DescribeTaskLogs": jobs.DescribeTaskLogsResponse,
    "TerminateJob": jobs.OkResponse,
    "TerminateTaskInstance": jobs.OkResponse,
    "RetryJobs": jobs.OkResponse,
    "DeleteJob": jobs.OkResponse,
    "CreateComputeEnv": compute_envs.CreateComputeEnvResponse,
    "DescribeComputeEnv": compute_envs.DescribeComputeEnvResponse,
    "DescribeComputeEnvs": compute_envs.DescribeComputeEnvsResponse,
    "DescribeComputeEnvCreateInfo": compute_envs.DescribeComputeEnvCreateInfoResponse,
    "DescribeComputeEnvCreateInfos": compute_envs.DescribeComputeEnvCreateInfosResponse,
    "DescribeComputeEnvActivities": compute_envs.DescribeComputeEnvActivitiesResponse,
    "ModifyComputeEnv": jobs.OkResponse,
    "DeleteComputeEnv": jobs.OkResponse,
    "TerminateComputeNode": jobs.OkResponse,
    "TerminateComputeNodes": jobs.OkResponse,
    "AttachInstances": jobs.OkResponse,
    "DetachInstances": jobs.OkResponse,
}
SCHEMA_DEVIATIONS = {("Application", "DeliveryForm")}  # required in api.json, optional here (API_NOTES §4)
# Response members beyond api.json and the SDK: an older DescribeTask example shows each instance's
# StateIfCreateCvmFailed (API_NOTES §2.2); the current examples lack it and stand for its default.
STATE_IF_CREATE_CVM_FAILED = "FAILED"
RESPONSE_EXTRAS = {("TaskInstanceView", "StateIfCreateCvmFailed"), ("TaskView", "StateReason")}


def example_inputs(action: str) -> list[dict[str, Any]]:
    return [example_request(example["input"])[1] for example in EXAMPLES[action]]


def example_outputs(action: str) -> list[dict[str, Any]]:
    """The official example responses, with the members of ``RESPONSE_EXTRAS`` they lack filled in."""
    outputs = [json.loads(example["output"])["Response"] for example in EXAMPLES[action]]
    for output in outputs:
        del output["RequestId"]
        for instance in output.get("TaskInstanceSet", []):
            instance.setdefault("StateIfCreateCvmFailed", STATE_IF_CREATE_CVM_FAILED)
        for task in output.get("TaskSet", []):
            task.setdefault("StateReason", "")
    return outputs


def api_error(model_cls: type[ApiModel], params: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse(model_cls, params)
    return caught.value


def minimal_submit() -> dict[str, Any]:
    return {
        "Placement": {"Zone": "ap-guangzhou-2"},
        "Job": {"Tasks": [{"Application": {"Command": "echo hi"}, "EnvId": "env-abcdefgh"}]},
    }


# Field-by-field parity with api.json


def all_models() -> list[type[ApiModel]]:
    found = {
        value
        for module in (common, jobs, compute_envs, templates, catalog, monitor)
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, ApiModel) and value.__name__ in API
    }
    return sorted(found, key=lambda cls: cls.__name__)


def wire_shape(annotation: Any) -> tuple[str, str]:
    """(type, member) as api.json spells them for a model annotation."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        (annotation,) = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if typing.get_origin(annotation) is list:
        return "list", wire_shape(typing.get_args(annotation)[0])[1]
    if typing.get_origin(annotation) is typing.Annotated:
        base, *metadata = typing.get_args(annotation)
        if base is bool:
            return "bool", "bool"
        flat = [c for m in metadata for c in (m.metadata if isinstance(m, FieldInfo) else [m])]
        bounds = [c.ge for c in flat if isinstance(c, Ge)]
        return "int", "uint64" if bounds == [0] else "int64"
    if annotation is str:
        return "string", "string"
    if annotation is bool:  # a response member, like int below
        return "bool", "bool"
    if annotation is float:
        return "float", "float"
    if annotation is int:  # a response member: nothing parses it, so it needs no wire bounds
        return "int", "int64"
    return "object", annotation.__name__


@pytest.mark.parametrize("model_cls", all_models(), ids=lambda cls: cls.__name__)
def test_members_match_api_json_in_name_order_and_type(model_cls: type[ApiModel]) -> None:
    members = [m for m in API[model_cls.__name__]["members"] if m["name"] != "RequestId"]
    ours = [name for name in model_cls.model_fields if (model_cls.__name__, name) not in RESPONSE_EXTRAS]
    assert ours == [m["name"] for m in members]
    for member in members:
        field = model_cls.model_fields[member["name"]]
        # An ISO time is a string on the wire; the service parses it (and says which are malformed).
        expected = (member["type"], "string" if member["member"] == "datetime_iso" else member["member"])
        assert wire_shape(field.rebuild_annotation()) == expected, member["name"]


@pytest.mark.parametrize("model_cls", all_models(), ids=lambda cls: cls.__name__)
def test_request_side_required_flags_match_api_json(model_cls: type[ApiModel]) -> None:
    for member in API[model_cls.__name__]["members"]:
        if member.get("required") is None or (model_cls.__name__, member["name"]) in SCHEMA_DEVIATIONS:
            continue
        field = model_cls.model_fields[member["name"]]
        assert field.is_required() == member["required"], member["name"]
        if not member["required"]:
            assert field.default is None, member["name"]


def test_delivery_form_is_optional_so_the_sdk_sample_validates() -> None:
    assert parse(common.Application, {"Command": "echo hello"}).DeliveryForm is None


def test_task_instance_view_shows_state_if_create_cvm_failed_beyond_the_sdk_model() -> None:
    """Last, so the SDK (which ignores members it lacks) reads every documented member as before."""
    assert list(jobs.TaskInstanceView.model_fields)[-1] == "StateIfCreateCvmFailed"
    assert not hasattr(sdk_models.TaskInstanceView(), "_StateIfCreateCvmFailed")


# Official examples and coercion


@pytest.mark.parametrize("action", sorted(REQUESTS))
def test_official_example_request_validates(action: str) -> None:
    for params in example_inputs(action):
        parse(REQUESTS[action], params)


def test_flattened_submit_job_example_coerces_numbers() -> None:
    request = parse(jobs.SubmitJobRequest, example_inputs("SubmitJob")[0])
    assert request.Job.Priority == 1
    assert request.Job.Tasks[0].TaskInstanceNum == 1
    assert request.Job.Tasks[0].Application.Command == "sleep 10"
    assert request.Job.Tasks[0].ComputeEnv is not None
    assert request.Job.Tasks[0].ComputeEnv.EnvData is not None
    assert request.Job.Tasks[0].ComputeEnv.EnvData.ImageId == "img-bd78fy2t"


def test_flattened_dag_example_keeps_dependences() -> None:
    request = parse(jobs.SubmitJobRequest, example_inputs("SubmitJob")[1])
    assert [task.TaskName for task in request.Job.Tasks] == ["pre_task", "post_task"]
    assert request.Job.Dependences == [common.Dependence(StartTask="pre_task", EndTask="post_task")]


def test_flattened_indexes_become_unsigned_ints() -> None:
    request = parse(jobs.DescribeTaskLogsRequest, example_inputs("DescribeTaskLogs")[0])
    assert request.TaskInstanceIndexes == [0, 1]
    request_ti = parse(jobs.TerminateTaskInstanceRequest, example_inputs("TerminateTaskInstance")[0])
    assert request_ti.TaskInstanceIndex == 0


def test_tccli_json_form_with_string_priority_validates() -> None:
    params = {
        "Job": {
            "JobName": "test job",
            "Priority": "1",
            "Tasks": [
                {
                    "TaskName": "hello2",
                    "TaskInstanceNum": 1,
                    "Application": {"DeliveryForm": "LOCAL", "Command": 'python -c "print(1)"'},
                    "EnvId": "env-jlatqfkn",
                    "RedirectInfo": {
                        "StdoutRedirectPath": "cos://b-1251783334.cos.ap-guangzhou.myqcloud.com/logs/",
                        "StderrRedirectPath": "cos://b-1251783334.cos.ap-guangzhou.myqcloud.com/logs/",
                    },
                }
            ],
        },
        "Placement": {"Zone": "ap-guangzhou-2"},
    }
    assert parse(jobs.SubmitJobRequest, params).Job.Priority == 1


def test_python_sdk_sample_without_delivery_form_validates() -> None:
    params = {
        "Placement": {"Zone": "ap-guangzhou-3"},
        "Job": {
            "JobName": "demo",
            "JobDescription": "test job",
            "Priority": 1,
            "Tasks": [
                {
                    "TaskName": "task",
                    "TaskInstanceNum": 1,
                    "Application": {"Command": "echo hello"},
                    "ComputeEnv": {
                        "EnvData": {
                            "InstanceType": "S2.SMALL1",
                            "ImageId": "img-enf3kukl",
                            "SystemDisk": {"DiskType": "CLOUD_PREMIUM", "DiskSize": 50},
                        }
                    },
                    "MaxRetryCount": 1,
                    "Timeout": 3600,
                }
            ],
        },
    }
    task = parse(jobs.SubmitJobRequest, params).Job.Tasks[0]
    assert (task.Application.DeliveryForm, task.Timeout, task.MaxRetryCount) == (None, 3600, 1)


def test_all_string_input_coerces_every_scalar_kind() -> None:
    params = minimal_submit()
    task = params["Job"]["Tasks"][0]
    task.update({"TaskInstanceNum": "2", "Timeout": " 60 ", "RestartComputeNode": "true"})
    task["Application"]["Docker"] = {"Image": "centos:7", "MaxRetryCount": "+3", "DelayOnRetry": "0"}
    parsed = parse(jobs.SubmitJobRequest, params).Job.Tasks[0]
    assert (parsed.TaskInstanceNum, parsed.Timeout, parsed.RestartComputeNode) == (2, 60, True)
    assert parsed.Application.Docker is not None
    assert (parsed.Application.Docker.MaxRetryCount, parsed.Application.Docker.DelayOnRetry) == (3, 0)


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("false", False), ("True", True), (False, False)]
)
def test_booleans_accept_json_and_the_words_true_false(raw: object, expected: bool) -> None:
    params = minimal_submit()
    params["Job"]["Tasks"][0]["RestartComputeNode"] = raw
    assert parse(jobs.SubmitJobRequest, params).Job.Tasks[0].RestartComputeNode is expected


def test_optional_members_default_to_none_not_product_defaults() -> None:
    task = parse(jobs.SubmitJobRequest, minimal_submit()).Job.Tasks[0]
    assert (task.TaskInstanceNum, task.Timeout, task.MaxRetryCount, task.FailedAction) == (None,) * 4


# Error mapping


@pytest.mark.parametrize(
    ("model_cls", "params", "path"),
    [
        (jobs.SubmitJobRequest, {"Job": minimal_submit()["Job"]}, "Placement"),
        (jobs.SubmitJobRequest, {"Placement": {"Zone": "z"}}, "Job"),
        (jobs.SubmitJobRequest, {"Placement": {}, "Job": minimal_submit()["Job"]}, "Placement.Zone"),
        (jobs.SubmitJobRequest, {"Placement": {"Zone": "z"}, "Job": {}}, "Job.Tasks"),
        (
            jobs.SubmitJobRequest,
            {"Placement": {"Zone": "z"}, "Job": {"Tasks": [{}]}},
            "Job.Tasks.0.Application",
        ),
        (jobs.DescribeTaskRequest, {"JobId": "job-abcdefgh"}, "TaskName"),
        (jobs.TerminateTaskInstanceRequest, {"JobId": "job-abcdefgh", "TaskName": "A"}, "TaskInstanceIndex"),
        (jobs.RetryJobsRequest, {}, "JobIds"),
        (jobs.DescribeJobsRequest, {"Filters": [{"Name": "job-state"}]}, "Filters.0.Values"),
    ],
)
def test_missing_required_member_names_its_dotted_path(
    model_cls: type[ApiModel], params: dict[str, Any], path: str
) -> None:
    error = api_error(model_cls, params)
    assert error.code == "MissingParameter"
    assert error.message == f"The request is missing a required parameter `{path}`."


def test_missing_member_deep_in_a_later_list_item_keeps_its_index() -> None:
    params = minimal_submit()
    params["Job"]["Tasks"].append({"Application": {"Docker": {}}})
    error = api_error(jobs.SubmitJobRequest, params)
    assert "`Job.Tasks.1.Application.Docker.Image`" in error.message


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda p: p.update(Foo="x"), "Foo"),
        (lambda p: p["Job"].update(Foo="x"), "Job.Foo"),
        (
            lambda p: p["Job"]["Tasks"][0]["Application"].update(DeliverForm="LOCAL"),
            "Job.Tasks.0.Application.DeliverForm",
        ),
    ],
)
def test_unknown_member_is_refused(mutate: Any, path: str) -> None:
    params = minimal_submit()
    mutate(params)
    error = api_error(jobs.SubmitJobRequest, params)
    assert error.code == "UnknownParameter"
    assert error.message == f"The parameter `{path}` is not recognized."


def test_common_parameters_are_unknown_to_the_action_models() -> None:
    assert (
        api_error(jobs.DescribeJobRequest, {"JobId": "job-abcdefgh", "Action": "x"}).code
        == "UnknownParameter"
    )


@pytest.mark.parametrize(
    ("member", "value", "expected"),
    [
        ("JobName", 5, "a string"),
        ("JobName", ["a"], "a string"),
        ("JobName", None, None),
        ("Priority", 1.5, "an integer"),
        ("Priority", 1.0, "an integer"),
        ("Priority", "1.0", "an integer"),
        ("Priority", "one", "an integer"),
        ("Priority", "", "an integer"),
        ("Priority", True, "an integer"),
        ("Priority", [1], "an integer"),
        ("Tasks", {"0": {}}, "a list"),
        ("Tags", [["k", "v"]], "an object"),
    ],
)
def test_wrong_type_is_invalid_parameter_naming_path_and_expectation(
    member: str, value: object, expected: str | None
) -> None:
    params = minimal_submit()
    params["Job"][member] = value
    if expected is None:  # JSON null for an optional member reads as absent, as the SDK never sends it
        parse(jobs.SubmitJobRequest, params)
        return
    error = api_error(jobs.SubmitJobRequest, params)
    assert error.code == "InvalidParameter"
    assert error.message.startswith(f"The parameter `Job.{member}")
    assert error.message.endswith(f"is invalid: expected {expected}.")


@pytest.mark.parametrize("raw", ["yes", "1", 1, 0, "on", ""])
def test_booleans_refuse_anything_but_true_false(raw: object) -> None:
    params = minimal_submit()
    params["Job"]["Tasks"][0]["RestartComputeNode"] = raw
    error = api_error(jobs.SubmitJobRequest, params)
    assert error.code == "InvalidParameter"
    assert "`Job.Tasks.0.RestartComputeNode`" in error.message


def test_params_that_are_not_an_object_are_invalid() -> None:
    error = api_error(jobs.DescribeJobRequest, ["job-abcdefgh"])
    assert (error.code, error.message) == (
        "InvalidParameter",
        "The request parameters are invalid: expected an object.",
    )


@pytest.mark.parametrize(
    ("model_cls", "params", "path"),
    [
        (
            jobs.DescribeTaskLogsRequest,
            {"JobId": "j", "TaskName": "t", "TaskInstanceIndexes": ["0", "-1"]},
            "TaskInstanceIndexes.1",
        ),
        (jobs.DescribeTaskLogsRequest, {"JobId": "j", "TaskName": "t", "Limit": -5}, "Limit"),
        (jobs.DescribeTaskRequest, {"JobId": "j", "TaskName": "t", "Offset": "-1"}, "Offset"),
    ],
)
def test_negative_unsigned_is_invalid_parameter_value_negative(
    model_cls: type[ApiModel], params: dict[str, Any], path: str
) -> None:
    error = api_error(model_cls, params)
    assert (error.code, error.message) == (
        "InvalidParameterValue.Negative",
        f"The parameter `{path}` must not be negative.",
    )


def test_negative_unsigned_deep_in_a_job_is_negative() -> None:
    params = minimal_submit()
    params["Job"]["Priority"] = -1
    params["Job"]["Tasks"][0]["TaskInstanceNum"] = "-2"
    error = api_error(jobs.SubmitJobRequest, params)
    assert error.code == "InvalidParameterValue.Negative"
    assert "`Job.Tasks.0.TaskInstanceNum`" in error.message  # Tasks is declared before Priority


INT64_MAX = 2**63 - 1
NO_GREATER = f"expected an integer no greater than {INT64_MAX}"


@pytest.mark.parametrize(
    ("model_cls", "params", "message"),
    [
        (jobs.DescribeTaskRequest, {"Offset": 2**63}, f"`Offset` is out of range: {NO_GREATER}"),
        (jobs.DescribeTaskRequest, {"Limit": str(2**64)}, f"`Limit` is out of range: {NO_GREATER}"),
        (
            jobs.DescribeTaskLogsRequest,
            {"TaskInstanceIndexes": [1, 2**63]},
            f"`TaskInstanceIndexes.1` is out of range: {NO_GREATER}",
        ),
        (jobs.DescribeJobsRequest, {"Offset": 2**63}, f"`Offset` is out of range: {NO_GREATER}"),
        (
            jobs.TerminateTaskInstanceRequest,
            {"TaskInstanceIndex": -(2**63) - 1},
            f"`TaskInstanceIndex` is out of range: expected an integer no less than {-(2**63)}",
        ),
        (
            jobs.DescribeTaskRequest,
            {"Offset": "9" * 5000},
            "`Offset` is out of range: it has more digits than any 64-bit integer",
        ),
    ],
)
def test_number_outside_64_bits_is_invalid_parameter_value_naming_path_and_bound(
    model_cls: type[ApiModel], params: dict[str, Any], message: str
) -> None:
    """Unsigned members stop at 2^63-1 too: the store's integers are signed 64-bit."""
    error = api_error(model_cls, {"JobId": "j", "TaskName": "t", **params})
    assert (error.code, error.message) == ("InvalidParameterValue", f"The parameter {message}.")


def test_64_bit_bounds_themselves_are_accepted() -> None:
    params = {"JobId": "j", "TaskName": "t", "Offset": INT64_MAX, "TaskInstanceIndexes": [str(INT64_MAX)]}
    assert parse(jobs.DescribeTaskLogsRequest, params).TaskInstanceIndexes == [INT64_MAX]
    assert parse(jobs.DescribeJobsRequest, {"Offset": -(2**63)}).Offset == -(2**63)


def test_negative_signed_members_are_left_to_the_service() -> None:
    assert parse(jobs.DescribeJobsRequest, {"Offset": "-1"}).Offset == -1
    params = {"JobId": "j", "TaskName": "t", "TaskInstanceIndex": -1}
    assert parse(jobs.TerminateTaskInstanceRequest, params).TaskInstanceIndex == -1


def test_first_error_follows_schema_declaration_order() -> None:
    params = {"Job": {"Foo": 1, "Tasks": [{"Application": {}, "Timeout": "x"}]}, "Placement": {}}
    assert api_error(jobs.SubmitJobRequest, params).message.endswith("`Placement.Zone`.")
    del params["Placement"]
    params["Placement"] = {"Zone": "z"}
    error = api_error(jobs.SubmitJobRequest, params)
    assert (error.code, error.message) == (
        "InvalidParameter",
        "The parameter `Job.Tasks.0.Timeout` is invalid: expected an integer.",
    )


def test_unknown_member_is_reported_after_declared_members_of_the_same_object() -> None:
    params = {"Placement": {"Zone": "z"}, "Job": {"Foo": 1}}
    assert api_error(jobs.SubmitJobRequest, params).code == "MissingParameter"


@pytest.mark.parametrize(
    "params",
    [
        {"Placement": [], "Job": {}},
        {"Placement": {"Zone": 1}, "Job": {"Tasks": "x"}},
        {"Placement": {"Zone": "z"}, "Job": {"Tasks": [{"Application": {"Commands": [{"Command": 3}]}}]}},
    ],
)
def test_messages_never_leak_pydantic_wording(params: dict[str, Any]) -> None:
    message = api_error(jobs.SubmitJobRequest, params).message
    assert "pydantic" not in message.lower()
    assert "http" not in message
    assert "Input should" not in message


# Strings that are not text


def submit_with_command(command: str) -> dict[str, Any]:
    params = minimal_submit()
    params["Job"]["Tasks"][0]["Application"]["Command"] = command
    return params


def submit_with_env_value(value: str) -> dict[str, Any]:
    params = minimal_submit()
    params["Job"]["Tasks"][0]["EnvVars"] = [{"Name": "A", "Value": value}]
    return params


@pytest.mark.parametrize(
    ("model_cls", "params", "path"),
    [
        (jobs.DescribeJobRequest, {"JobId": "job-\x00"}, "JobId"),
        (jobs.RetryJobsRequest, {"JobIds": ["job-abcdefgh", "\x00"]}, "JobIds.1"),
        (
            jobs.DescribeJobsRequest,
            {"Filters": [{"Name": "job-name", "Values": ["a\x00b"]}]},
            "Filters.0.Values.0",
        ),
        (jobs.SubmitJobRequest, submit_with_command("echo \x00"), "Job.Tasks.0.Application.Command"),
        (jobs.SubmitJobRequest, submit_with_env_value("\x00"), "Job.Tasks.0.EnvVars.0.Value"),
    ],
)
def test_nul_in_any_string_is_invalid_parameter_value_naming_its_path(
    model_cls: type[ApiModel], params: dict[str, Any], path: str
) -> None:
    error = api_error(model_cls, params)
    assert (error.code, error.message) == (
        "InvalidParameterValue",
        f"The parameter `{path}` must not contain NUL bytes.",
    )


@pytest.mark.parametrize(
    ("model_cls", "params", "path"),
    [
        (jobs.DescribeJobRequest, {"JobId": "\ud800"}, "JobId"),
        (jobs.DescribeJobsRequest, {"Filters": [{"Name": "x\udfff", "Values": []}]}, "Filters.0.Name"),
        (jobs.SubmitJobRequest, submit_with_command("echo \udcff"), "Job.Tasks.0.Application.Command"),
        (jobs.DescribeJobRequest, {"JobId": "j", "Colour": ["\ud800"]}, "Colour.0"),
    ],
)
def test_lone_surrogate_in_any_string_is_invalid_parameter_naming_its_path(
    model_cls: type[ApiModel], params: dict[str, Any], path: str
) -> None:
    error = api_error(model_cls, params)
    assert (error.code, error.message) == (
        "InvalidParameter",
        f"The parameter `{path}` is not valid Unicode text: it holds a lone surrogate.",
    )


@pytest.mark.parametrize("name", ["Job\x00", "\ud800", "Command\udcff"])
def test_member_name_that_is_not_text_is_unknown_parameter(name: str) -> None:
    params = minimal_submit()
    params["Job"]["Tasks"][0]["Application"][name] = "x"
    error = api_error(jobs.SubmitJobRequest, params)
    assert (error.code, error.message) == (
        "UnknownParameter",
        f"The parameter `Job.Tasks.0.Application.{name}` is not recognized.",
    )


def test_text_is_checked_at_any_depth_without_recursion() -> None:
    """The JSON decoder allows nesting deeper than a walk by recursion could follow."""
    deep: Any = "\x00"
    for _ in range(100_000):
        deep = [deep]
    error = api_error(jobs.DescribeJobRequest, {"JobId": deep})
    assert error.code == "InvalidParameterValue"
    assert error.message.startswith("The parameter `JobId.0.0.0.")


def test_text_is_checked_in_request_order_before_the_shape() -> None:
    params = {"JobId": "\x00", "Extra": "\ud800"}
    assert api_error(jobs.DescribeJobRequest, params).code == "InvalidParameterValue"
    assert api_error(jobs.DescribeJobRequest, dict(reversed(params.items()))).code == "InvalidParameter"


def test_ordinary_unicode_and_control_characters_are_text() -> None:
    value = "未命名 💥 \u202e\t\x01\x7f"
    assert parse(jobs.DescribeJobRequest, {"JobId": value}).JobId == value


# Responses


@pytest.mark.parametrize("action", sorted(RESPONSES))
def test_official_example_output_round_trips_through_the_response_model(action: str) -> None:
    for output in example_outputs(action):
        dumped = json.loads(dump(RESPONSES[action].model_validate(output)))
        assert_covers(dumped, output)


def assert_covers(dumped: Any, example: Any) -> None:
    """The dump equals the example, except for members the example omits, which must be null."""
    if isinstance(example, dict):
        for key, value in dumped.items():
            if key in example:
                assert_covers(value, example[key])
            else:
                assert value is None, key
        assert set(example) <= set(dumped)
    elif isinstance(example, list):
        assert len(dumped) == len(example)
        for got, want in zip(dumped, example, strict=True):
            assert_covers(got, want)
    else:
        assert dumped == example


@pytest.mark.parametrize("action", sorted(RESPONSES))
def test_sdk_deserializes_our_responses_without_unknown_field_warnings(action: str) -> None:
    for output in example_outputs(action):
        dumped = json.loads(dump(RESPONSES[action].model_validate(output)))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for _model, name in RESPONSE_EXTRAS:  # the SDK client itself silences these warnings
                warnings.filterwarnings("ignore", message=f"{name} fileds are useless")
            getattr(sdk_models, f"{action}Response")()._deserialize({**dumped, "RequestId": "r"})


def test_response_members_match_the_sdk_models() -> None:
    for action, model_cls in RESPONSES.items():
        sdk_names = [name.lstrip("_") for name in vars(getattr(sdk_models, f"{action}Response")())]
        assert list(model_cls.model_fields) == [name for name in sdk_names if name != "RequestId"]


def test_unset_times_and_node_are_dumped_as_null() -> None:
    view = jobs.TaskInstanceView(
        TaskInstanceIndex=0,
        TaskInstanceState="PENDING",
        ExitCode=None,
        StateReason="",
        ComputeNodeInstanceId=None,
        CreateTime="2018-02-07T09:29:09Z",
        LaunchTime=None,
        RunningTime=None,
        EndTime=None,
        RedirectInfo=common.RedirectInfo(),
        StateDetailedReason="",
        StateIfCreateCvmFailed="FAILED",
    )
    dumped = json.loads(dump(view))
    assert dumped["EndTime"] is None and "EndTime" in dumped
    assert dumped["ComputeNodeInstanceId"] is None
    assert dumped["RedirectInfo"] == dict.fromkeys(common.RedirectInfo.model_fields)


def test_ok_response_dumps_empty() -> None:
    assert json.loads(dump(jobs.OkResponse())) == {}


def test_response_models_refuse_misspelt_members() -> None:
    with pytest.raises(ValueError):
        jobs.SubmitJobResponse.model_validate({"JobId": "job-abcdefgh", "JobID": "x"})
