"""Named compute environments through the official SDK: shapes, rules and every error code they give.

The module's server knows two accounts, so scoping is tested with real key pairs. Most environments
here ask for no nodes, which keeps these tests to the API's own rules; the few that need nodes to
appear (the scheduler's part) say so with ``# needs the node scheduler``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from tencentcloud.batch.v20170312 import batch_client
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

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
    wait_for,
    wait_job,
)

UNKNOWN_ENV = "env-abcdefgh"
NODES_PER_ENV = 2
# Room on this machine for the few environments that make nodes of S2.SMALL1 (1 CPU, 1 GiB).
CONFIG = (
    f"[local]\ncpus = 2\nmemory_gib = 4\n[quotas]\ncompute_envs = 1000\nnodes_per_env = {NODES_PER_ENV}\n"
)
STRICT_CONFIG = "refuse_terminate_with_env_id = true\n[quotas]\ncompute_envs = 2\n"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from running(two_account_server(tmp_path_factory.mktemp("envs") / "data", CONFIG))


def other_client(server: Server) -> batch_client.BatchClient:
    """The second account's client."""
    return make_client(server.endpoint, keys=(OTHER_ID, OTHER_KEY))


@pytest.fixture(scope="module")
def other(srv: Server) -> batch_client.BatchClient:
    return other_client(srv)


def sdk_code(action: Callable[[], Any]) -> str:
    with pytest.raises(TencentCloudSDKException) as info:
        action()
    return str(info.value.code)


def env_request(name: str = "pool", desired: int = 0, **env: Any) -> dict[str, Any]:
    spec = {"EnvName": name, "DesiredComputeNodeCount": desired, "EnvData": {"InstanceType": "S2.SMALL1"}}
    return {"ComputeEnv": {**spec, **env}, "Placement": {"Zone": ZONE}}


def create(client: batch_client.BatchClient, name: str = "pool", desired: int = 0, **env: Any) -> str:
    return str(call(client, "CreateComputeEnv", env_request(name, desired, **env)).EnvId)


def total_envs(client: batch_client.BatchClient) -> int:
    return int(call(client, "DescribeComputeEnvs", {}).TotalCount)


def env_task(name: str, command: str, env_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "TaskName": name,
        "Application": {"DeliveryForm": "LOCAL", "Command": command},
        "EnvId": env_id,
        **extra,
    }


@pytest.fixture(scope="module")
def env_id(sdk: batch_client.BatchClient) -> str:
    """An environment without nodes, for lookups and refusals."""
    return create(sdk, "lookups")


# ---------------------------------------------------------------------------------------------------
# Shapes.


def test_create_then_describe_shows_the_environment(sdk: batch_client.BatchClient) -> None:
    tags = [{"Key": "team", "Value": "render"}]
    env = create(sdk, "shapes", 0, EnvDescription="for shapes", Tags=tags)
    assert env.startswith("env-") and len(env) == 12
    view = call(sdk, "DescribeComputeEnv", {"EnvId": env})
    assert (view.EnvId, view.EnvName, view.EnvType, view.ResourceType) == (env, "shapes", "MANAGED", "CVM")
    assert (view.Placement.Zone, view.Placement.ProjectId, view.DesiredComputeNodeCount) == (ZONE, 0, 0)
    assert (view.NextAction, view.AttachedComputeNodeCount, view.ComputeNodeSet) == ("", 0, [])
    assert view.ComputeNodeMetrics.CreatedCount == view.ComputeNodeMetrics.AbnormalCount == 0
    assert [(t.Key, t.Value) for t in view.Tags] == [("team", "render")]
    assert view.CreateTime.endswith("Z")
    listed = call(sdk, "DescribeComputeEnvs", {"EnvIds": [env]})
    assert (listed.TotalCount, listed.ComputeEnvSet[0].EnvName) == (1, "shapes")
    assert listed.ComputeEnvSet[0].ComputeNodeMetrics.RunningCount == 0


def test_create_info_echoes_the_request_without_its_password(sdk: batch_client.BatchClient) -> None:
    data = {
        "InstanceType": "S2.SMALL1",
        "ImageId": "img-bd78fy2t",
        "LoginSettings": {"Password": "Secret123"},
    }
    env = create(sdk, "infos", 0, EnvDescription="d", EnvData=data)
    info = call(sdk, "DescribeComputeEnvCreateInfo", {"EnvId": env})
    assert (info.EnvName, info.EnvDescription, info.EnvType, info.DesiredComputeNodeCount) == (
        "infos",
        "d",
        "MANAGED",
        0,
    )
    assert (info.EnvData.InstanceType, info.EnvData.ImageId) == ("S2.SMALL1", "img-bd78fy2t")
    assert info.EnvData.LoginSettings.Password != "Secret123"
    infos = call(sdk, "DescribeComputeEnvCreateInfos", {"Filters": [{"Name": "env-id", "Values": [env]}]})
    assert (infos.TotalCount, infos.ComputeEnvCreateInfoSet[0].EnvId) == (1, env)


def test_modify_renames_and_resizes(sdk: batch_client.BatchClient) -> None:
    env = create(sdk, "before")
    call(sdk, "ModifyComputeEnv", {"EnvId": env, "EnvName": "after", "EnvDescription": "new"})
    call(sdk, "ModifyComputeEnv", {"EnvId": env, "EnvData": {"InstanceTypes": ["S2.SMALL2"]}})
    view = call(sdk, "DescribeComputeEnv", {"EnvId": env})
    assert (view.EnvName, view.DesiredComputeNodeCount) == ("after", 0)


def test_client_token_answers_the_first_environment(sdk: batch_client.BatchClient) -> None:
    request = {**env_request("token"), "ClientToken": "env-token-1"}
    first = call(sdk, "CreateComputeEnv", request).EnvId
    before = total_envs(sdk)
    assert call(sdk, "CreateComputeEnv", request).EnvId == first
    assert total_envs(sdk) == before
    changed = {**env_request("token", 1), "ClientToken": "env-token-1"}
    assert sdk_code(lambda: call(sdk, "CreateComputeEnv", changed)) == "InvalidParameterValue"


def test_lists_filter_by_name_tag_and_zone(sdk: batch_client.BatchClient) -> None:
    a = create(sdk, "list-a", Tags=[{"Key": "list", "Value": "a"}])
    b = create(sdk, "list-b", Tags=[{"Key": "list", "Value": "b"}])

    def ids(*filters: dict[str, Any]) -> list[str]:
        return [e.EnvId for e in call(sdk, "DescribeComputeEnvs", {"Filters": list(filters)}).ComputeEnvSet]

    assert ids({"Name": "tag-key", "Values": ["list"]}) == [b, a]  # newest first
    assert ids({"Name": "tag:list", "Values": ["a"]}) == [a]
    assert ids({"Name": "env-name", "Values": ["list-b"]}, {"Name": "zone", "Values": [ZONE]}) == [b]
    assert ids({"Name": "env-name", "Values": ["list-b"]}, {"Name": "resource-type", "Values": ["CPM"]}) == []
    page = call(
        sdk, "DescribeComputeEnvs", {"Filters": [{"Name": "tag-key", "Values": ["list"]}], "Limit": 1}
    )
    assert (page.TotalCount, [e.EnvId for e in page.ComputeEnvSet]) == (2, [b])


def test_activities_of_an_environment_without_nodes_are_empty(
    srv: Server, sdk: batch_client.BatchClient, env_id: str
) -> None:
    """Over GET too, where the one Filter object flattens to ``Filters.Name``."""
    getter = make_client(srv.endpoint, http={"reqMethod": "GET"})
    params = {"EnvId": env_id, "Filters": {"Name": "compute-node-id", "Values": ["node-abcdefgh"]}}
    for client in (sdk, getter):
        answer = call(client, "DescribeComputeEnvActivities", params)
        assert (answer.TotalCount, answer.ActivitySet) == (0, [])


def test_describe_task_shows_each_instance_state_if_create_cvm_failed(sdk: batch_client.BatchClient) -> None:
    """The SDK's model lacks the member, so the raw reply is read."""
    default = submit(sdk, task("a", "true"))
    runnable = submit(sdk, task("a", "true"), StateIfCreateCvmFailed="RUNNABLE")
    for job_id, expected in ((default, "FAILED"), (runnable, "RUNNABLE")):
        reply = sdk.call_json("DescribeTask", {"JobId": job_id, "TaskName": "a"})
        assert [i["StateIfCreateCvmFailed"] for i in reply["Response"]["TaskInstanceSet"]] == [expected]


# ---------------------------------------------------------------------------------------------------
# Accounts.


def test_another_account_cannot_see_or_use_an_environment(
    sdk: batch_client.BatchClient, other: batch_client.BatchClient, env_id: str
) -> None:
    assert call(other, "DescribeComputeEnvs", {"EnvIds": [env_id]}).TotalCount == 0
    assert env_id not in [e.EnvId for e in call(other, "DescribeComputeEnvs", {"Limit": 100}).ComputeEnvSet]
    for action, params in ENV_LOOKUPS.items():
        code = sdk_code(partial(call, other, action, {**params, "EnvId": env_id}))
        assert code == "ResourceNotFound.ComputeEnv", action
    code = sdk_code(lambda: submit(other, env_task("t", "true", env_id)))
    assert code == "ResourceNotFound.ComputeEnv"
    assert call(sdk, "DescribeComputeEnv", {"EnvId": env_id}).EnvId == env_id


def test_another_region_cannot_see_an_environment(srv: Server, env_id: str) -> None:
    shanghai = make_client(srv.endpoint, region="ap-shanghai")
    assert (
        sdk_code(lambda: call(shanghai, "DescribeComputeEnv", {"EnvId": env_id}))
        == "ResourceNotFound.ComputeEnv"
    )


# ---------------------------------------------------------------------------------------------------
# Error codes: malformed and unknown environments, for every action that names one.

ENV_LOOKUPS: dict[str, dict[str, Any]] = {
    "DescribeComputeEnv": {},
    "DescribeComputeEnvCreateInfo": {},
    "DescribeComputeEnvActivities": {},
    "ModifyComputeEnv": {"EnvName": "x"},
    "DeleteComputeEnv": {},
    "TerminateComputeNode": {"ComputeNodeId": "node-abcdefgh"},
    "TerminateComputeNodes": {"ComputeNodeIds": ["node-abcdefgh"]},
    "AttachInstances": {"Instances": [{"InstanceId": "ins-abcdefgh"}]},
    "DetachInstances": {"InstanceIds": ["ins-abcdefgh"]},
}


@pytest.mark.parametrize(("action", "params"), ENV_LOOKUPS.items(), ids=ENV_LOOKUPS.keys())
def test_malformed_env_id_is_env_id_malformed(
    sdk: batch_client.BatchClient, action: str, params: dict[str, Any]
) -> None:
    code = sdk_code(lambda: call(sdk, action, {**params, "EnvId": "env-UPPER123"}))
    assert code == "InvalidParameter.EnvIdMalformed"


@pytest.mark.parametrize(("action", "params"), ENV_LOOKUPS.items(), ids=ENV_LOOKUPS.keys())
def test_unknown_env_id_is_resource_not_found(
    sdk: batch_client.BatchClient, action: str, params: dict[str, Any]
) -> None:
    assert (
        sdk_code(lambda: call(sdk, action, {**params, "EnvId": UNKNOWN_ENV})) == "ResourceNotFound.ComputeEnv"
    )


# CreateComputeEnv: each case starts from a valid request and breaks one thing; nothing is stored.

Edit = Callable[[dict[str, Any]], None]


def _env(**members: Any) -> Edit:
    return lambda r: r["ComputeEnv"].update(members)


def _data(**members: Any) -> Edit:
    return lambda r: r["ComputeEnv"]["EnvData"].update(members)


def _notify(*events: str, topic: str = "topic") -> Edit:
    configs = [{"EventName": e, "EventVars": []} for e in events]
    return _env(Notifications=[{"TopicName": topic, "EventConfigs": configs}])


CREATE_CASES: dict[str, tuple[Edit, str]] = {
    "name-61": (_env(EnvName="n" * 61), "InvalidParameter.EnvNameTooLong"),
    "name-empty": (_env(EnvName=""), "InvalidParameterValue"),
    "description-201": (_env(EnvDescription="d" * 201), "InvalidParameter.EnvDescriptionTooLong"),
    "desired-negative": (_env(DesiredComputeNodeCount=-1), "InvalidParameterValue.Negative"),
    "desired-over-quota": (
        _env(DesiredComputeNodeCount=NODES_PER_ENV + 1),
        "InvalidParameterValue.LimitExceeded",
    ),
    "env-type-thpc": (_env(EnvType="THPC_QUEUE"), "InvalidParameterValue.ComputeEnv"),
    "env-type-unknown": (_env(EnvType="UNMANAGED"), "InvalidParameterValue.ComputeEnv"),
    "no-instance-type": (_env(EnvData={}), "InvalidParameterValue.ComputeEnv"),
    "instance-type": (_data(InstanceType="X9.HUGE"), "InvalidParameterValue.InstanceType"),
    "two-instance-types": (_data(InstanceTypes=["S2.SMALL2"]), "InvalidParameterValue.InstanceType"),
    "instance-type-twice": (
        _data(InstanceTypes=["S2.SMALL1"] * 2),
        "InvalidParameterValue.InstanceTypeDuplicate",
    ),
    "image-id": (_data(ImageId="img-BAD"), "InvalidParameter.ImageIdMalformed"),
    "disk-type": (_data(SystemDisk={"DiskType": "FLOPPY"}), "InvalidParameter.CvmParameters"),
    "data-zones": (_data(Zones=["ap-shanghai-2"]), "InvalidParameterValue.InvalidZoneMismatchRegion"),
    "zone-other-region": (
        lambda r: r["Placement"].update(Zone="ap-shanghai-2"),
        "InvalidZone.MismatchRegion",
    ),
    "zone-unknown": (
        lambda r: r["Placement"].update(Zone="ap-guangzhou-99"),
        "InvalidParameterValue.UnavailableZone",
    ),
    "mount-data-disks": (_env(MountDataDisks=[{"LocalPath": "/data"}]), "InvalidParameterValue"),
    "input-mappings": (
        _env(InputMappings=[{"SourcePath": "cos://b-1/in/", "DestinationPath": "/in/"}]),
        "InvalidParameterValue",
    ),
    "authentications": (
        _env(Authentications=[{"Scene": "COS", "SecretId": "id", "SecretKey": "key"}]),
        "InvalidParameterValue",
    ),
    "topic-too-long": (
        _notify("COMPUTE_ENV_CREATED", topic="t" * 65),
        "InvalidParameter.NotificationTopicNameTooLong",
    ),
    "topic-name": (_notify("COMPUTE_ENV_CREATED", topic="1 bad"), "InvalidParameter.NotificationTopicName"),
    "event-twice": (
        _notify("COMPUTE_NODE_CREATED", "COMPUTE_NODE_CREATED"),
        "InvalidParameter.NotificationEventNameDuplicate",
    ),
    "job-event": (_notify("JOB_SUCCEED"), "InvalidParameterValue"),
    # A topic must be one of the server's (tests/api/test_notifications.py has servers that have some).
    "topic-not-configured": (_notify("COMPUTE_ENV_CREATED"), "InvalidParameter.NotificationTopicName"),
    "action-if-inactive": (_env(ActionIfComputeNodeInactive="IGNORE"), "InvalidParameterValue"),
    "resource-retries": (_env(ResourceMaxRetryCount=101), "InvalidParameterValue"),
    "resource-retries-negative": (_env(ResourceMaxRetryCount=-1), "InvalidParameterValue.Negative"),
    "eleven-tags": (
        _env(Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(11)]),
        "InvalidParameterValue.LimitExceeded",
    ),
    "tag-key-twice": (_env(Tags=[{"Key": "k", "Value": "v"}] * 2), "InvalidParameterValue"),
    "notification-target": (_env(NotificationTarget="SNS"), "InvalidParameterValue"),
    "client-token-65": (lambda r: r.update(ClientToken="t" * 65), "InvalidParameterValue"),
}


@pytest.mark.parametrize(("edit", "code"), CREATE_CASES.values(), ids=CREATE_CASES.keys())
def test_invalid_create_compute_env_is_refused_and_stores_nothing(
    sdk: batch_client.BatchClient, edit: Edit, code: str
) -> None:
    request = env_request("invalid")
    edit(request)
    before = total_envs(sdk)
    assert sdk_code(lambda: call(sdk, "CreateComputeEnv", request)) == code
    assert total_envs(sdk) == before


def test_values_at_their_limits_are_accepted(sdk: batch_client.BatchClient) -> None:
    request = env_request("n" * 60, 0, EnvDescription="d" * 200)
    request["ComputeEnv"].update(
        Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(10)],
        ResourceMaxRetryCount=100,
        ActionIfComputeNodeInactive="RECREATE",
        NotificationTarget="TDMQ_CMQ",
        EnvType="MANAGED",
    )
    request["ComputeEnv"]["EnvData"].update(InstanceTypes=["S2.SMALL1"])
    env = call(sdk, "CreateComputeEnv", request).EnvId
    assert call(sdk, "DescribeComputeEnv", {"EnvId": env}).EnvName == "n" * 60


MODIFY_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "nothing": ({}, "MissingParameter"),
    "desired-negative": ({"DesiredComputeNodeCount": -1}, "InvalidParameterValue.Negative"),
    "desired-over-quota": (
        {"DesiredComputeNodeCount": NODES_PER_ENV + 1},
        "InvalidParameterValue.LimitExceeded",
    ),
    "name-61": ({"EnvName": "n" * 61}, "InvalidParameter.EnvNameTooLong"),
    "description-201": ({"EnvDescription": "d" * 201}, "InvalidParameter.EnvDescriptionTooLong"),
    "types-empty": ({"EnvData": {"InstanceTypes": []}}, "InvalidParameterValue.InstanceTypesEmpty"),
    "types-twice": (
        {"EnvData": {"InstanceTypes": ["S2.SMALL1"] * 2}},
        "InvalidParameterValue.InstanceTypeDuplicate",
    ),
    "type-unknown": ({"EnvData": {"InstanceTypes": ["X9.HUGE"]}}, "InvalidParameterValue.InstanceType"),
    "two-types": (
        {"EnvData": {"InstanceTypes": ["S2.SMALL1", "S3.SMALL1"]}},
        "InvalidParameterValue.InstanceType",
    ),
}


@pytest.mark.parametrize(("params", "code"), MODIFY_CASES.values(), ids=MODIFY_CASES.keys())
def test_invalid_modify_compute_env_is_refused(
    sdk: batch_client.BatchClient, env_id: str, params: dict[str, Any], code: str
) -> None:
    assert sdk_code(lambda: call(sdk, "ModifyComputeEnv", {"EnvId": env_id, **params})) == code
    assert call(sdk, "DescribeComputeEnv", {"EnvId": env_id}).EnvName == "lookups"


NODE_CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "terminate-unknown-node": (
        "TerminateComputeNode",
        {"ComputeNodeId": "node-abcdefgh"},
        "ResourceNotFound.ComputeNode",
    ),
    "terminate-malformed-node": (
        "TerminateComputeNode",
        {"ComputeNodeId": "node-X"},
        "InvalidParameter.ComputeNodeIdMalformed",
    ),
    "terminate-nodes-unknown": (
        "TerminateComputeNodes",
        {"ComputeNodeIds": ["node-abcdefgh"]},
        "ResourceNotFound.ComputeNode",
    ),
    "terminate-nodes-twice": (
        "TerminateComputeNodes",
        {"ComputeNodeIds": ["node-abcdefgh", "node-abcdefgh"]},
        "InvalidParameterValue",
    ),
    "terminate-nodes-none": (
        "TerminateComputeNodes",
        {"ComputeNodeIds": []},
        "InvalidParameterValue.LimitExceeded",
    ),
    "terminate-nodes-101": (
        "TerminateComputeNodes",
        {"ComputeNodeIds": [f"node-{i:08d}" for i in range(101)]},
        "InvalidParameterValue.LimitExceeded",
    ),
    "attach-malformed": ("AttachInstances", {"Instances": [{"InstanceId": "i-1"}]}, "InvalidParameter"),
    "attach-twice": (
        "AttachInstances",
        {"Instances": [{"InstanceId": "ins-abcdefgh"}] * 2},
        "InvalidParameterValue.InstanceIdDuplicated",
    ),
    "attach-101": (
        "AttachInstances",
        {"Instances": [{"InstanceId": f"ins-{i:08d}"} for i in range(101)]},
        "InvalidParameterValue.LimitExceeded",
    ),
    "attach-over-quota": (
        "AttachInstances",
        {"Instances": [{"InstanceId": f"ins-{i:08d}"} for i in range(NODES_PER_ENV + 1)]},
        "InvalidParameterValue.LimitExceeded",
    ),
    "attach-image-id": (
        "AttachInstances",
        {"Instances": [{"InstanceId": "ins-abcdefgh", "ImageId": "img-X"}]},
        "InvalidParameter.ImageIdMalformed",
    ),
    "detach-unknown": ("DetachInstances", {"InstanceIds": ["ins-abcdefgh"]}, "ResourceNotFound.ComputeNode"),
    "detach-twice": (
        "DetachInstances",
        {"InstanceIds": ["ins-abcdefgh", "ins-abcdefgh"]},
        "InvalidParameterValue.InstanceIdDuplicated",
    ),
    "detach-malformed": ("DetachInstances", {"InstanceIds": ["ins-"]}, "InvalidParameter"),
}


@pytest.mark.parametrize(("action", "params", "code"), NODE_CASES.values(), ids=NODE_CASES.keys())
def test_invalid_node_request_is_refused(
    sdk: batch_client.BatchClient, env_id: str, action: str, params: dict[str, Any], code: str
) -> None:
    assert sdk_code(lambda: call(sdk, action, {"EnvId": env_id, **params})) == code


LIST_CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "ids-and-filters": (
        "DescribeComputeEnvs",
        {"EnvIds": [UNKNOWN_ENV], "Filters": [{"Name": "env-name", "Values": ["x"]}]},
        "InvalidParameter.InvalidParameterCombination",
    ),
    "malformed-id": ("DescribeComputeEnvs", {"EnvIds": ["env-X"]}, "InvalidParameter.EnvIdMalformed"),
    "101-ids": (
        "DescribeComputeEnvs",
        {"EnvIds": [f"env-{i:08d}" for i in range(101)]},
        "InvalidParameterValue.LimitExceeded",
    ),
    "unknown-filter": (
        "DescribeComputeEnvs",
        {"Filters": [{"Name": "colour", "Values": ["x"]}]},
        "InvalidFilter",
    ),
    "resource-type": (
        "DescribeComputeEnvs",
        {"Filters": [{"Name": "resource-type", "Values": ["VM"]}]},
        "InvalidParameterValue.ResourceType",
    ),
    "zone-other-region": (
        "DescribeComputeEnvs",
        {"Filters": [{"Name": "zone", "Values": ["ap-shanghai-2"]}]},
        "InvalidZone.MismatchRegion",
    ),
    "101-values": (
        "DescribeComputeEnvs",
        {"Filters": [{"Name": "env-name", "Values": ["x"] * 101}]},
        "InvalidParameterValue.LimitExceeded",
    ),
    "limit-101": ("DescribeComputeEnvs", {"Limit": 101}, "InvalidParameterValue.LimitExceeded"),
    "offset-negative": ("DescribeComputeEnvs", {"Offset": -1}, "InvalidParameterValue.Negative"),
    "infos-tag-filter": (
        "DescribeComputeEnvCreateInfos",
        {"Filters": [{"Name": "tag:team", "Values": ["x"]}]},
        "InvalidFilter",
    ),
    "infos-ids-and-filters": (
        "DescribeComputeEnvCreateInfos",
        {"EnvIds": [UNKNOWN_ENV], "Filters": []},
        "InvalidParameter.InvalidParameterCombination",
    ),
    "infos-limit-101": (
        "DescribeComputeEnvCreateInfos",
        {"Limit": 101},
        "InvalidParameterValue.LimitExceeded",
    ),
}


@pytest.mark.parametrize(("action", "params", "code"), LIST_CASES.values(), ids=LIST_CASES.keys())
def test_invalid_list_request_is_refused(
    sdk: batch_client.BatchClient, action: str, params: dict[str, Any], code: str
) -> None:
    assert sdk_code(lambda: call(sdk, action, params)) == code


ACTIVITY_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "malformed-node": (
        {"Filters": {"Name": "compute-node-id", "Values": ["n-1"]}},
        "InvalidParameter.ComputeNodeIdMalformed",
    ),
    "unknown-filter": ({"Filters": {"Name": "node", "Values": []}}, "InvalidFilter"),
    "limit-101": ({"Limit": 101}, "InvalidParameterValue.LimitExceeded"),
    "offset-negative": ({"Offset": -1}, "InvalidParameterValue"),
}


@pytest.mark.parametrize(("params", "code"), ACTIVITY_CASES.values(), ids=ACTIVITY_CASES.keys())
def test_invalid_activities_request_is_refused(
    sdk: batch_client.BatchClient, env_id: str, params: dict[str, Any], code: str
) -> None:
    assert sdk_code(lambda: call(sdk, "DescribeComputeEnvActivities", {"EnvId": env_id, **params})) == code


def test_an_instance_being_attached_cannot_be_attached_again(
    sdk: batch_client.BatchClient, other: batch_client.BatchClient
) -> None:
    """Holds while the first attachment is pending or done; if the scheduler refused the machine and
    dropped the request, the second attachment would be the first."""
    mine, theirs = create(sdk, "attach-a"), create(other, "attach-b")
    call(sdk, "AttachInstances", {"EnvId": mine, "Instances": [{"InstanceId": "ins-att00001"}]})
    params = {"EnvId": theirs, "Instances": [{"InstanceId": "ins-att00001"}]}
    assert (
        sdk_code(lambda: call(other, "AttachInstances", params))
        == "UnsupportedOperation.InstancesNotAllowToAttach"
    )
    call(sdk, "DetachInstances", {"EnvId": mine, "InstanceIds": ["ins-att00001"]})


# ---------------------------------------------------------------------------------------------------
# Jobs in a named environment.


def test_submit_job_names_an_environment_and_delete_waits_for_it(sdk: batch_client.BatchClient) -> None:
    """Without nodes the job waits RUNNABLE, so the environment is in use until the job is terminated."""
    env = create(sdk, "in-use")
    job_id = submit(sdk, env_task("t", "true", env))
    assert call(sdk, "DescribeJobSubmitInfo", {"JobId": job_id}).Tasks[0].EnvId == env
    assert (
        sdk_code(lambda: call(sdk, "DeleteComputeEnv", {"EnvId": env}))
        == "UnsupportedOperation.ComputeEnvOperation"
    )
    call(sdk, "TerminateJob", {"JobId": job_id})
    assert wait_job(sdk, job_id).JobState == "FAILED"
    call(sdk, "DeleteComputeEnv", {"EnvId": env})
    code = sdk_code(lambda: submit(sdk, env_task("t", "true", env)))
    assert code == "ResourceNotFound.ComputeEnv"  # deleting or gone, it takes no task


SUBMIT_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "malformed": (env_task("t", "true", "env-X"), "InvalidParameter.EnvIdMalformed"),
    "unknown": (env_task("t", "true", UNKNOWN_ENV), "ResourceNotFound.ComputeEnv"),
    "both": (
        {**env_task("t", "true", UNKNOWN_ENV), "ComputeEnv": {"EnvData": {"InstanceType": "S2.SMALL1"}}},
        "AllowedOneAttributeInEnvIdAndComputeEnv",
    ),
}


@pytest.mark.parametrize(("task_params", "code"), SUBMIT_CASES.values(), ids=SUBMIT_CASES.keys())
def test_submit_job_with_an_unusable_env_id_is_refused(
    sdk: batch_client.BatchClient, task_params: dict[str, Any], code: str
) -> None:
    assert sdk_code(lambda: submit(sdk, task_params)) == code


# ---------------------------------------------------------------------------------------------------
# A server with a quota of two environments that refuses terminations in named environments.


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from running(two_account_server(tmp_path_factory.mktemp("strict") / "data", STRICT_CONFIG))


def test_environment_quota_is_per_account(strict: Server) -> None:
    mine = make_client(strict.endpoint)
    first = create(mine, "q1")
    create(mine, "q2")
    assert sdk_code(lambda: create(mine, "q3")) == "LimitExceeded.ComputeEnvQuota"
    shanghai = make_client(strict.endpoint, region="ap-shanghai")
    call(shanghai, "CreateComputeEnv", {**env_request("q4"), "Placement": {"Zone": "ap-shanghai-2"}})
    assert call(mine, "DescribeComputeEnv", {"EnvId": first}).EnvName == "q1"


# needs server.py to pass Settings.refuse_terminate_with_env_id to JobControl
def test_terminations_in_named_environments_can_be_refused(strict: Server) -> None:
    """In the second account, whose quota the test above leaves alone."""
    client = other_client(strict)
    job_id = submit(client, env_task("t", "true", create(client, "strict")))
    refused = "UnsupportedOperation.TerminateOperationWithEnvId"
    assert sdk_code(lambda: call(client, "TerminateJob", {"JobId": job_id})) == refused
    params = {"JobId": job_id, "TaskName": "t", "TaskInstanceIndex": 0}
    assert sdk_code(lambda: call(client, "TerminateTaskInstance", params)) == refused
    anonymous = submit(client, task("a", "sleep 30"))
    call(client, "TerminateJob", {"JobId": anonymous})


# ---------------------------------------------------------------------------------------------------
# Nodes made by the scheduler.


def nodes_of(client: batch_client.BatchClient, env: str) -> list[Any]:
    return list(call(client, "DescribeComputeEnv", {"EnvId": env}).ComputeNodeSet)


def created_node(client: batch_client.BatchClient, env: str, but: str = "") -> Any:
    """The environment's first idle node other than ``but``, once there is one."""
    nodes = call(client, "DescribeComputeEnv", {"EnvId": env}).ComputeNodeSet
    return next((n for n in nodes if n.ComputeNodeState == "CREATED" and n.ComputeNodeId != but), None)


def gone(client: batch_client.BatchClient, env: str) -> bool:
    try:
        call(client, "DescribeComputeEnv", {"EnvId": env})
    except TencentCloudSDKException as exc:
        return bool(exc.code == "ResourceNotFound.ComputeEnv")
    return False  # still deleting


# needs the node scheduler
def test_an_environment_keeps_its_nodes_runs_tasks_and_records_why(sdk: batch_client.BatchClient) -> None:
    env = create(sdk, "working", 1)
    node = wait_for(lambda: created_node(sdk, env))
    assert (node.Cpu, node.Mem, node.ResourceOrigin, node.TaskInstanceNumAvailable) == (
        1,
        1,
        "BATCH_CREATED",
        1,
    )
    assert (node.ResourceType, node.PrivateIpAddresses, node.ResourceCreatedTime[-1]) == ("CVM", [], "Z")
    activities = call(sdk, "DescribeComputeEnvActivities", {"EnvId": env}).ActivitySet
    assert [(a.ComputeNodeId, a.ComputeNodeActivityType, a.Cause) for a in activities] == [
        (node.ComputeNodeId, "CREATE_COMPUTE_NODE", "CreateComputeEnv: the capacity is 1")
    ]
    job_id = submit(sdk, env_task("t", "true", env))
    assert wait_job(sdk, job_id).JobState == "SUCCEED"
    ran_on = call(sdk, "DescribeTask", {"JobId": job_id, "TaskName": "t"}).TaskInstanceSet[0]
    assert ran_on.ComputeNodeInstanceId == node.ComputeNodeInstanceId
    call(sdk, "DeleteComputeEnv", {"EnvId": env})
    wait_for(lambda: gone(sdk, env))


# needs the node scheduler
def test_a_terminated_node_is_replaced_and_a_deleted_environment_goes(sdk: batch_client.BatchClient) -> None:
    env = create(sdk, "replaced", 1)
    first = wait_for(lambda: created_node(sdk, env))
    call(sdk, "TerminateComputeNode", {"EnvId": env, "ComputeNodeId": first.ComputeNodeId})
    wait_for(lambda: created_node(sdk, env, but=first.ComputeNodeId))
    assert call(sdk, "DescribeComputeEnv", {"EnvId": env}).DesiredComputeNodeCount == 1
    activities = call(sdk, "DescribeComputeEnvActivities", {"EnvId": env}).ActivitySet
    assert "TERMINATE_COMPUTE_NODE" in [a.ComputeNodeActivityType for a in activities]
    call(sdk, "DeleteComputeEnv", {"EnvId": env})
    wait_for(lambda: gone(sdk, env))
