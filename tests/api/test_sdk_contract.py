"""The API kept whole, with the official SDK (tencentcloud-sdk-python-batch) as the reference.

Every action of ``BatchClient`` must be answered; every member of its ``<Action>Request`` model (and
of the structures nested in it) must be one the server parses, so it is honoured or refused with a
clear error, never ``UnknownParameter``; every member of its ``<Action>Response`` model must be in
the server's real answer, recursively through nested objects and lists of objects, null only where
the API allows it, and nothing the SDK does not know may appear. The official example request of
every action (tccli's ``examples.json``) must be understood too.

The SDK is read, not copied: actions are ``BatchClient``'s public methods, members are what its
models' constructors set, nested structures are named by their docstrings' ``:type:`` lines. A new
SDK release that adds an action, a request member or a response member makes these tests fail,
naming the action and the member's path, until the server handles it.
"""

from __future__ import annotations

import functools
import json
import re
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tccli
from tencentcloud.batch.v20170312 import models as sdk_models
from tencentcloud.batch.v20170312.batch_client import BatchClient
from tencentcloud.common.abstract_model import AbstractModel
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from batchyard.api.actions import ACTIONS, Action
from batchyard.config.catalog import default_zones
from batchyard.schema.base import ApiModel
from conftest import (
    REGION,
    ZONE,
    Server,
    example_request,
    make_client,
    running,
    submit,
    task,
    wait_for,
    wait_job,
)

Sdk = type[AbstractModel]
TCCLI_BATCH = Path(tccli.__file__).parent / "services" / "batch" / "v20170312"  # api.json, examples.json

# ---------------------------------------------------------------------------------------------------
# The SDK as data.

SDK_ACTIONS = sorted(
    name for name, member in vars(BatchClient).items() if name[:1].isupper() and callable(member)
)

_PARAM = re.compile(r":param _(\w+):(.*?):type \1: ([^\n]*)", re.S)
_TYPE_NAME = re.compile(r"(\w+)`?\s*$")  # the last word: `Tag` of `list of Tag`, `Placement` of `:class:`…``


@dataclass(frozen=True)
class Member:
    """One member of an SDK model: the structure it holds (None for scalars), as one or as a list."""

    structure: Sdk | None
    is_list: bool


def sdk_model(name: str) -> Sdk:
    found = getattr(sdk_models, name, None)
    assert isinstance(found, type) and issubclass(found, AbstractModel), f"the SDK has no model {name}"
    return found


def members(model: Sdk) -> dict[str, Member]:
    """The model's members in the SDK's order, each typed by the constructor's docstring."""
    return _members(model.__name__)


@functools.cache
def _members(model_name: str) -> dict[str, Member]:
    model = sdk_model(model_name)
    documented = {m.group(1): _member(m.group(3)) for m in _PARAM.finditer(_doc(model))}
    names = [name.removeprefix("_") for name in vars(model())]
    untyped = [name for name in names if name not in documented]
    assert not untyped, f"the SDK's {model.__name__} docstring gives no type for {untyped}"
    return {name: documented[name] for name in names}


def _doc(model: Sdk) -> str:
    return model.__init__.__doc__ or ""


def _member(type_text: str) -> Member:
    """``str``, ``list of int``, ``list of Tag`` or ``:class:`tencentcloud.….models.Placement```."""
    is_list = type_text.startswith("list of ")
    name = _TYPE_NAME.search(type_text)
    found = getattr(sdk_models, name.group(1), None) if name else None
    structure = found if isinstance(found, type) and issubclass(found, AbstractModel) else None
    return Member(structure, is_list)


# ---------------------------------------------------------------------------------------------------
# What the server may do beyond the SDK, each on purpose.

# Request members the server deliberately refuses with UnknownParameter, by (SDK model, member).
# Empty: every member the SDK can send is parsed, and features not implemented yet are refused by
# value (InvalidParameterValue naming the member, docs/semantics.md), which is the clearer error.
REFUSED_REQUEST_MEMBERS: dict[tuple[str, str], str] = {}

# Response members the SDK does not know. An older official DescribeTask example shows each
# instance's StateIfCreateCvmFailed, which the current SDK model dropped (API_NOTES §2.2); kept.
# DescribeJob's tasks say why their waiting instances wait (docs/semantics.md, "Why an instance waits").
EXTRA_RESPONSE_MEMBERS = {("TaskInstanceView", "StateIfCreateCvmFailed"), ("TaskView", "StateReason")}

# Members null until the thing they describe has happened, beyond those the API schema lets be null.
# Each is null in an official example or said to be empty by its SDK description.
NULL_UNTIL_KNOWN = {
    ("DescribeJobResponse", "EndTime"),  # unfinished job; example DescribeJobs shows "EndTime": null
    ("JobView", "EndTime"),
    ("DescribeTaskResponse", "EndTime"),
    ("TaskInstanceView", "EndTime"),
    ("TaskInstanceView", "LaunchTime"),  # not yet on a node
    ("TaskInstanceView", "RunningTime"),  # command not started
    ("TaskInstanceView", "ExitCode"),  # command not ended
    ("TaskInstanceView", "ComputeNodeInstanceId"),  # example DescribeTask shows null
    ("TaskInstanceLog", "StdoutLog"),  # the instance never started: no log was captured
    ("TaskInstanceLog", "StderrLog"),
    ("ComputeNode", "ResourceCreatedTime"),  # the node is not made yet
    ("Activity", "EndTime"),  # under way; the English data-types page says it may be null
}


# The API schema the SDK is generated from (tccli ships it): a member may be null where it says
# value_allowed_null, or output_required false (the member may be left out, which the SDK reads as None).
SCHEMA: dict[str, Any] = json.loads((TCCLI_BATCH / "api.json").read_text(encoding="utf-8"))["objects"]


def null_allowed(owner: Sdk, name: str) -> bool:
    if (owner.__name__, name) in NULL_UNTIL_KNOWN:
        return True
    schema = {m["name"]: m for m in SCHEMA.get(owner.__name__, {}).get("members", [])}.get(name, {})
    return bool(schema.get("value_allowed_null") or schema.get("output_required") is False)


# ---------------------------------------------------------------------------------------------------
# Comparing.


def summary(gaps: list[str]) -> str:
    """Each gap once, list indexes folded: 200 instance types missing one member is one line."""
    folded = [re.sub(r"\[\d+\]", "[*]", gap) for gap in gaps]
    return "; ".join(dict.fromkeys(folded))


def registered(action: str) -> Action:
    if action not in ACTIONS:
        pytest.fail(f"{action}: in the SDK's BatchClient, but the server answers it with InvalidAction")
    return ACTIONS[action]


def ours_in(annotation: Any) -> type[ApiModel] | None:
    """The server's structure inside an annotation such as ``list[common.Tag] | None``."""
    if isinstance(annotation, type) and issubclass(annotation, ApiModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = ours_in(argument)
        if found is not None:
            return found
    return None


def request_gaps(sdk: Sdk, ours: type[ApiModel], path: str = "") -> list[str]:
    """Members the SDK can send that the server would not parse, and members only the server has."""
    known = members(sdk)
    gaps = [
        f"{path}{name}: sent by the SDK, unknown to the server (UnknownParameter)"
        for name in known
        if name not in ours.model_fields and (sdk.__name__, name) not in REFUSED_REQUEST_MEMBERS
    ]
    gaps += [
        f"{path}{name}: parsed by the server, not in the SDK"
        for name in ours.model_fields
        if name not in known
    ]
    for name, member in known.items():
        field = ours.model_fields.get(name)
        if member.structure is None or field is None:
            continue
        inner = ours_in(field.annotation)
        if inner is None:
            gaps.append(f"{path}{name}: an object in the SDK, not one to the server")
        else:
            gaps += request_gaps(member.structure, inner, f"{path}{name}.")
    return gaps


def response_gaps(sdk: Sdk, answer: dict[str, Any], path: str = "") -> list[str]:
    known = members(sdk)
    gaps = [
        f"{path}{key}: invented (not in the SDK's {sdk.__name__})"
        for key in answer
        if key not in known and (sdk.__name__, key) not in EXTRA_RESPONSE_MEMBERS
    ]
    for name in known:
        gaps += _member_gaps(sdk, name, answer, f"{path}{name}")
    return gaps


def _member_gaps(owner: Sdk, name: str, answer: dict[str, Any], path: str) -> list[str]:
    if name not in answer:
        return [f"{path}: missing"]
    value, member = answer[name], members(owner)[name]
    if value is None:
        return [] if null_allowed(owner, name) else [f"{path}: null, which the API does not allow here"]
    if member.is_list and not isinstance(value, list):
        return [f"{path}: expected a list, got {type(value).__name__}"]
    if member.structure is None:
        return []
    items = list(enumerate(value)) if member.is_list else [(None, value)]
    return [gap for index, item in items for gap in _item_gaps(member.structure, item, path, index)]


def _item_gaps(structure: Sdk, item: Any, path: str, index: int | None) -> list[str]:
    where = path if index is None else f"{path}[{index}]"
    if not isinstance(item, dict):
        return [f"{where}: expected an object ({structure.__name__}), got {type(item).__name__}"]
    return response_gaps(structure, item, f"{where}.")


# ---------------------------------------------------------------------------------------------------
# A server with one of everything, made when a test first asks for it.

CONFIG = "[local]\ncpus = 8\nmemory_gib = 16\n"  # room for every environment's S2.SMALL1 nodes
INSTANCE_TYPE = "S2.SMALL1"
TAGS = [{"Key": "team", "Value": "contract"}]


class Seed:
    """The objects the actions are driven against; mutators get objects made for them."""

    def __init__(self, server: Server) -> None:
        self.endpoint = server.endpoint
        self.client = make_client(server.endpoint)

    def answer(
        self, action: str, params: dict[str, Any], client: BatchClient | None = None
    ) -> dict[str, Any]:
        """The raw ``Response`` object, as the server wrote it."""
        try:
            body: dict[str, Any] = (client or self.client).call_json(action, params)["Response"]
        except TencentCloudSDKException as exc:
            pytest.fail(f"{action} answered {exc.code}: {exc.message}")
        return body

    # Jobs.

    @functools.cached_property
    def job(self) -> str:
        """Finished: task `a` (two instances) then task `b`, tagged."""
        dag = [{"StartTask": "a", "EndTask": "b"}]
        job_id = submit(
            self.client, task("a", "echo a", TaskInstanceNum=2), task("b", "true"), Dependences=dag, Tags=TAGS
        )
        wait_job(self.client, job_id)
        return str(job_id)

    @functools.cached_property
    def busy_job(self) -> str:
        """Unfinished, so times, exit codes, nodes and logs not known yet are null: `a`'s instance 0
        succeeded, instance 1 runs, `b` waits for `a`."""
        dag = [{"StartTask": "a", "EndTask": "b"}]
        command = '[ "$BATCH_TASK_INSTANCE_INDEX" = 0 ] || sleep 60'
        job_id = submit(
            self.client, task("a", command, TaskInstanceNum=2), task("b", "true"), Dependences=dag
        )
        wait_for(lambda: self.instance_states(job_id, "a") == ["SUCCEED", "RUNNING"])
        return str(job_id)

    def instance_states(self, job_id: str, task_name: str) -> list[str]:
        answer = self.answer("DescribeTask", {"JobId": job_id, "TaskName": task_name})
        return [view["TaskInstanceState"] for view in answer["TaskInstanceSet"]]

    def finished_job(self, command: str = "true") -> str:
        job_id = submit(self.client, task("t", command))
        wait_job(self.client, job_id)
        return str(job_id)

    def running_job(self) -> str:
        return str(submit(self.client, task("t", "sleep 60")))

    # Compute environments and their nodes.

    def new_env(self, name: str, desired: int = 0) -> str:
        spec = {
            "EnvName": name,
            "EnvDescription": "made by the contract test",
            "DesiredComputeNodeCount": desired,
            "EnvData": {"InstanceType": INSTANCE_TYPE},
            "Tags": TAGS,
        }
        params = {"ComputeEnv": spec, "Placement": {"Zone": ZONE}}
        env_id = str(self.answer("CreateComputeEnv", params)["EnvId"])
        if desired:
            wait_for(lambda: self.created_nodes(env_id, desired))
        return env_id

    def created_nodes(self, env_id: str, count: int) -> list[dict[str, Any]] | None:
        nodes: list[dict[str, Any]] = self.answer("DescribeComputeEnv", {"EnvId": env_id})["ComputeNodeSet"]
        ready = len(nodes) == count and all(n["ComputeNodeState"] == "CREATED" for n in nodes)
        return nodes if ready else None

    @functools.cached_property
    def env(self) -> str:
        """Named, with one idle node."""
        return self.new_env("contract", desired=1)

    def idle_node(self, name: str) -> dict[str, str]:
        """A new environment's one idle node, as ``{"EnvId", "ComputeNodeId"}``."""
        env_id = self.new_env(name, desired=1)
        (node,) = self.created_nodes(env_id, 1) or []
        return {"EnvId": env_id, "ComputeNodeId": str(node["ComputeNodeId"])}

    def attached(self, instance_id: str) -> str:
        env_id = self.new_env(f"attach-{instance_id}")
        self.answer("AttachInstances", {"EnvId": env_id, "Instances": [{"InstanceId": instance_id}]})
        wait_for(lambda: self.created_nodes(env_id, 1))
        return env_id

    # Task templates.

    def new_template(self, name: str) -> str:
        info = task("t", "echo template")
        params = {"TaskTemplateName": name, "TaskTemplateInfo": info, "Tags": TAGS}
        return str(self.answer("CreateTaskTemplate", params)["TaskTemplateId"])

    @functools.cached_property
    def template(self) -> str:
        return self.new_template("contract")


# Each action once, with a request that must succeed against the seed.
Request = Callable[[Seed], dict[str, Any]]
REQUESTS: dict[str, Request] = {
    "SubmitJob": lambda s: {
        "Placement": {"Zone": ZONE},
        "Job": {"JobName": "submit", "Tasks": [task("t", "true")], "Tags": TAGS},
    },
    "DescribeJob": lambda s: {"JobId": s.busy_job},
    "DescribeJobs": lambda s: {"JobIds": [s.job, s.busy_job]},
    "DescribeJobSubmitInfo": lambda s: {"JobId": s.job},
    "DescribeTask": lambda s: {"JobId": s.busy_job, "TaskName": "a"},
    "DescribeTaskLogs": lambda s: {"JobId": s.busy_job, "TaskName": "b"},
    "DescribeJobMonitorData": lambda s: {
        "JobId": s.job,
        "TaskName": "a",
        "TaskInstanceIndex": 0,
        "MetricName": "CpuUsage",
    },
    "TerminateJob": lambda s: {"JobId": s.running_job()},
    "TerminateTaskInstance": lambda s: {"JobId": s.running_job(), "TaskName": "t", "TaskInstanceIndex": 0},
    "RetryJobs": lambda s: {"JobIds": [s.finished_job("false")]},
    "DeleteJob": lambda s: {"JobId": s.finished_job()},
    "CreateComputeEnv": lambda s: {
        "ComputeEnv": {
            "EnvName": "created",
            "DesiredComputeNodeCount": 0,
            "EnvData": {"InstanceType": INSTANCE_TYPE},
        },
        "Placement": {"Zone": ZONE},
    },
    "DescribeComputeEnv": lambda s: {"EnvId": s.env},
    "DescribeComputeEnvs": lambda s: {"EnvIds": [s.env]},
    "DescribeComputeEnvCreateInfo": lambda s: {"EnvId": s.env},
    "DescribeComputeEnvCreateInfos": lambda s: {"EnvIds": [s.env]},
    "DescribeComputeEnvActivities": lambda s: {"EnvId": s.env},
    "ModifyComputeEnv": lambda s: {"EnvId": s.new_env("modified"), "EnvDescription": "modified"},
    "DeleteComputeEnv": lambda s: {"EnvId": s.new_env("deleted")},
    "TerminateComputeNode": lambda s: s.idle_node("one"),
    "TerminateComputeNodes": lambda s: nodes_request(s.idle_node("some")),
    "AttachInstances": lambda s: {
        "EnvId": s.new_env("attach"),
        "Instances": [{"InstanceId": "ins-attach01"}],
    },
    "DetachInstances": lambda s: {"EnvId": s.attached("ins-detach01"), "InstanceIds": ["ins-detach01"]},
    "CreateTaskTemplate": lambda s: {
        "TaskTemplateName": "created",
        "TaskTemplateInfo": task("t", "true"),
        "TaskTemplateDescription": "made by the contract test",
    },
    "DescribeTaskTemplates": lambda s: {"TaskTemplateIds": [s.template]},
    "ModifyTaskTemplate": lambda s: {
        "TaskTemplateId": s.new_template("to-modify"),
        "TaskTemplateName": "modified",
    },
    "DeleteTaskTemplates": lambda s: {"TaskTemplateIds": [s.new_template("to-delete")]},
    "DescribeAvailableCvmInstanceTypes": lambda s: {"Filters": [{"Name": "zone", "Values": [ZONE]}]},
    "DescribeCvmZoneInstanceConfigInfos": lambda s: {"Filters": [{"Name": "zone", "Values": [ZONE]}]},
    "DescribeInstanceCategories": lambda s: {},
}


def nodes_request(node: dict[str, str]) -> dict[str, Any]:
    return {"EnvId": node["EnvId"], "ComputeNodeIds": [node["ComputeNodeId"]]}


@pytest.fixture(scope="module")
def contract_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from running(Server(tmp_path_factory.mktemp("contract") / "data", config=CONFIG))


@pytest.fixture(scope="module")
def seed(contract_server: Server) -> Seed:
    return Seed(contract_server)


# ---------------------------------------------------------------------------------------------------
# The contract.


@pytest.mark.parametrize("action", SDK_ACTIONS)
def test_every_sdk_action_is_handled(action: str) -> None:
    registered(action)


def test_the_server_invents_no_action() -> None:
    assert sorted(set(ACTIONS) - set(SDK_ACTIONS)) == []


def test_the_sdk_is_read_whole() -> None:
    """The SDK's shape did not drift from what this module reads (30 actions in 3.1.171)."""
    assert len(SDK_ACTIONS) >= 30
    assert members(sdk_models.DescribeTaskResponse)["TaskInstanceSet"] == Member(
        sdk_models.TaskInstanceView, is_list=True
    )
    assert members(sdk_models.SubmitJobRequest)["Placement"].structure is sdk_models.Placement


def test_the_response_check_names_missing_invented_and_null_members() -> None:
    answer = {
        "TotalCount": 1,
        "JobSet": [{"JobId": "job-x", "JobName": None, "Colour": "red"}],
        "RequestId": "r",
    }
    gaps = response_gaps(sdk_models.DescribeJobsResponse, answer)
    assert "JobSet[0].Colour: invented (not in the SDK's JobView)" in gaps
    assert "JobSet[0].JobState: missing" in gaps
    assert "JobSet[0].JobName: null, which the API does not allow here" in gaps
    assert [gap for gap in gaps if not gap.startswith("JobSet[0].")] == []


def test_the_request_check_names_members_the_server_would_not_parse() -> None:
    """Checked against the wrong model on purpose: DescribeJob's request lacks DescribeTask's members."""
    narrow, wide = ACTIONS["DescribeJob"].request, ACTIONS["DescribeTask"].request
    assert "TaskName: sent by the SDK, unknown to the server (UnknownParameter)" in request_gaps(
        sdk_models.DescribeTaskRequest, narrow
    )
    assert "TaskName: parsed by the server, not in the SDK" in request_gaps(
        sdk_models.DescribeJobRequest, wide
    )


@pytest.mark.parametrize("action", SDK_ACTIONS)
def test_every_request_member_is_parsed(action: str) -> None:
    """Parsed means honoured or refused by value with a clear error; never UnknownParameter."""
    gaps = request_gaps(sdk_model(f"{action}Request"), registered(action).request)
    assert gaps == [], f"{action}Request: {summary(gaps)}"


def test_every_sdk_action_has_a_request_to_drive_it() -> None:
    assert sorted(set(SDK_ACTIONS) - set(REQUESTS)) == []


@pytest.mark.parametrize("action", SDK_ACTIONS)
def test_every_response_member_is_present_and_none_is_invented(action: str, seed: Seed) -> None:
    registered(action)
    if action not in REQUESTS:
        pytest.fail(f"{action}: no request in REQUESTS drives it against the server yet")
    answer = seed.answer(action, REQUESTS[action](seed))
    gaps = response_gaps(sdk_model(f"{action}Response"), answer)
    assert gaps == [], f"{action}Response: {summary(gaps)}"


def test_the_one_member_beyond_the_sdk_is_shown(seed: Seed) -> None:
    """Each DescribeTask instance shows its job's StateIfCreateCvmFailed, as the older official example."""
    answer = seed.answer("DescribeTask", {"JobId": seed.job, "TaskName": "a"})
    assert {view["StateIfCreateCvmFailed"] for view in answer["TaskInstanceSet"]} == {"FAILED"}


# ---------------------------------------------------------------------------------------------------
# The official example requests, as the docs send them (GET flattened, or a POST JSON body).

EXAMPLES: dict[str, list[dict[str, str]]] = json.loads(
    (TCCLI_BATCH / "examples.json").read_text(encoding="utf-8")
)["actions"]
REGIONS = default_zones()

# Codes that say the server did not understand the request, rather than refused what it asked for.
NOT_UNDERSTOOD = {
    "UnknownParameter",
    "MissingParameter",
    "InvalidParameter",
    "InvalidAction",
    "InternalError",
}


def example_cases() -> list[tuple[str, int]]:
    return [(action, n) for action in SDK_ACTIONS for n in range(len(EXAMPLES.get(action, [])))]


def example_region(params: dict[str, Any]) -> str:
    """The region of the example's zone, so a zone of Beijing is not refused as foreign here."""
    zones = [params.get("Placement", {}).get("Zone")]
    zones += [v for f in params.get("Filters", []) if f.get("Name") == "zone" for v in f.get("Values", [])]
    for zone in filter(None, zones):
        region = str(zone).rsplit("-", 1)[0]
        if zone in REGIONS.get(region, []):
            return region
    return str(REGION)


def seeded(params: dict[str, Any], seed: Seed) -> dict[str, Any]:
    """The example's own request with its ids (job-97zcl3wt, env-lcpcej85, …) and task names replaced
    by the seed's, so that a read runs to the end on objects that exist."""
    jobs = [seed.job, seed.busy_job]
    swap: dict[str, Callable[[Any], Any]] = {
        "JobId": lambda _: seed.job,
        "JobIds": lambda ids: [jobs[n % 2] for n in range(len(ids))],
        "TaskName": lambda _: "a",
        "EnvId": lambda _: seed.env,
        "EnvIds": lambda ids: [seed.env] * len(ids),
        "TaskTemplateIds": lambda ids: [seed.template] * len(ids),
    }
    return {key: swap[key](value) if key in swap else value for key, value in params.items()}


@pytest.mark.parametrize(("action", "number"), example_cases())
def test_official_example_request_is_understood(action: str, number: int, seed: Seed) -> None:
    """A read is answered in full on the seed's objects; a change is answered, or refused for what it
    asks (an unknown id, a feature not offered) with a specific code and a message."""
    registered(action)
    method, params = example_request(EXAMPLES[action][number]["input"])
    client = make_client(seed.endpoint, example_region(params), http={"reqMethod": method})
    if action.startswith("Describe"):
        answer = seed.answer(action, seeded(params, seed), client)
        gaps = response_gaps(sdk_model(f"{action}Response"), answer)
        assert gaps == [], f"{action} example {number}: {summary(gaps)}"
        return
    try:
        client.call_json(action, params)
    except TencentCloudSDKException as exc:
        assert exc.code not in NOT_UNDERSTOOD, f"{action} example {number}: {exc.code}: {exc.message}"
        assert exc.message, f"{action} example {number}: {exc.code} without a message"
