"""The compute environment use cases against a real store, with the scheduler's rows written by hand.

Nodes and activities are the scheduler's to write; here a test writes them as it would, so every
rule about nodes is checked without a scheduler or an executor. ``settle`` only counts its calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from batchyard.config.settings import Quotas, Settings
from batchyard.domain.errors import ApiError
from batchyard.domain.nodes import EnvChange, NodeState, Origin
from batchyard.domain.states import State
from batchyard.schema.base import parse
from batchyard.schema.compute_envs import (
    CreateComputeEnvRequest,
    DescribeComputeEnvActivitiesRequest,
    DescribeComputeEnvCreateInfosRequest,
    DescribeComputeEnvsRequest,
    Instance,
    ModifyComputeEnvRequest,
)
from batchyard.schema.jobs import SubmitJobRequest
from batchyard.service.compute_envs import ComputeEnvService
from batchyard.service.context import Caller
from batchyard.service.control import JobControl
from batchyard.service.submit import JobSubmitter
from batchyard.store.database import Database
from batchyard.store.tables import compute_envs, env_activities, env_intents, nodes, tasks

ME = Caller("me", "ap-guangzhou")
OTHER_ACCOUNT = Caller("other", "ap-guangzhou")
OTHER_REGION = Caller("me", "ap-shanghai")
ZONE = "ap-guangzhou-3"


class Settles:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


@pytest.fixture
def settings() -> Settings:
    return Settings(quotas=Quotas(compute_envs=3, nodes_per_env=10))


@pytest.fixture
def settles() -> Settles:
    return Settles()


@pytest.fixture
def service(db: Database, settings: Settings, settles: Settles) -> ComputeEnvService:
    return ComputeEnvService(db, settings, settles)


@pytest.fixture
def submitter(db: Database, settings: Settings) -> JobSubmitter:
    return JobSubmitter(db, settings, lambda: None)


def create_request(desired: int = 2, **env: Any) -> CreateComputeEnvRequest:
    spec = {"EnvName": "pool", "DesiredComputeNodeCount": desired, "EnvData": {"InstanceType": "S2.MEDIUM4"}}
    token = env.pop("ClientToken", None)
    params: dict[str, Any] = {"ComputeEnv": {**spec, **env}, "Placement": {"Zone": ZONE}}
    if token is not None:
        params["ClientToken"] = token
    return parse(CreateComputeEnvRequest, params)


def code_of(action: Callable[[], Any]) -> str:
    with pytest.raises(ApiError) as caught:
        action()
    return str(caught.value.code)


def requests_of(db: Database, env_id: str) -> list[tuple[str, str, list[str]]]:
    with db.read() as conn:
        query = (
            select(env_intents.c.kind, env_intents.c.cause, env_intents.c.ids)
            .join(compute_envs, compute_envs.c.pk == env_intents.c.env_pk)
            .where(compute_envs.c.env_id == env_id)
            .order_by(env_intents.c.pk)
        )
        return [(k, c, list(i)) for k, c, i in conn.execute(query)]


def env_pk(db: Database, env_id: str) -> int:
    with db.read() as conn:
        return int(conn.scalar(select(compute_envs.c.pk).where(compute_envs.c.env_id == env_id)) or 0)


def add_node(
    db: Database,
    env_id: str,
    node_id: str,
    state: NodeState = NodeState.CREATED,
    origin: Origin = Origin.BATCH_CREATED,
    instance_id: str | None = None,
) -> None:
    """A node row as the scheduler writes it."""
    now = time.time()
    row = {
        "node_id": node_id,
        "instance_id": instance_id or "ins-" + node_id.removeprefix("node-"),
        "env_pk": env_pk(db, env_id),
        "origin": origin.value,
        "state": state.value,
        "instance_type": "S2.MEDIUM4",
        "cpu": 2,
        "memory_gib": 4,
        "create_time": now,
        "ready_time": now if state in (NodeState.CREATED, NodeState.RUNNING) else None,
    }
    with db.write() as conn:
        conn.execute(insert(nodes).values(row))


def submit_in(submitter: JobSubmitter, caller: Caller, env_id: str) -> str:
    task = {"TaskName": "t", "Application": {"Command": "true"}, "EnvId": env_id}
    placement = {"Zone": f"{caller.region}-3"}
    request = parse(SubmitJobRequest, {"Placement": placement, "Job": {"Tasks": [task]}})
    return str(submitter.submit(caller, request))


def end_tasks(db: Database) -> None:
    with db.write() as conn:
        conn.execute(update(tasks).values(state=State.SUCCEED.value))


# Create, describe, ClientToken, quotas --------------------------------------------------------------


def test_create_records_a_reconcile_with_the_capacity_and_settles(
    service: ComputeEnvService, db: Database, settles: Settles
) -> None:
    env_id = service.create(ME, create_request(2))
    assert requests_of(db, env_id) == [("RECONCILE", "CreateComputeEnv: the capacity is 2", [])]
    assert settles.calls == 1
    view = service.describe(ME, env_id)
    assert (view.EnvName, view.DesiredComputeNodeCount, view.NextAction, view.EnvType) == (
        "pool",
        2,
        "",
        "MANAGED",
    )
    assert (view.Placement.Zone, view.ResourceType, view.ComputeNodeSet) == (ZONE, "CVM", [])
    metrics = view.ComputeNodeMetrics
    assert metrics.model_dump() == dict.fromkeys(type(metrics).model_fields, 0)


def test_the_same_client_token_answers_the_first_env_and_creates_nothing(
    service: ComputeEnvService, db: Database
) -> None:
    first = service.create(ME, create_request(ClientToken="tok"))
    assert service.create(ME, create_request(ClientToken="tok")) == first
    assert len(requests_of(db, first)) == 1
    assert (
        code_of(lambda: service.create(ME, create_request(3, ClientToken="tok"))) == "InvalidParameterValue"
    )


def test_quota_counts_envs_per_account_and_region(service: ComputeEnvService) -> None:
    for _ in range(3):
        service.create(ME, create_request())
    assert code_of(lambda: service.create(ME, create_request())) == "LimitExceeded.ComputeEnvQuota"
    service.create(OTHER_ACCOUNT, create_request())
    service.create(
        OTHER_REGION,
        parse(
            CreateComputeEnvRequest,
            {
                "ComputeEnv": {
                    "EnvName": "p",
                    "DesiredComputeNodeCount": 0,
                    "EnvData": {"InstanceType": "S2.SMALL1"},
                },
                "Placement": {"Zone": "ap-shanghai-2"},
            },
        ),
    )


def test_envs_are_invisible_to_other_accounts_and_regions(service: ComputeEnvService) -> None:
    env_id = service.create(ME, create_request())
    for caller in (OTHER_ACCOUNT, OTHER_REGION):
        assert code_of(partial(service.describe, caller, env_id)) == "ResourceNotFound.ComputeEnv"
        assert service.describe_many(caller, DescribeComputeEnvsRequest()).TotalCount == 0


def test_create_info_is_the_request_as_given_without_the_password(service: ComputeEnvService) -> None:
    data = {"InstanceTypes": ["S2.MEDIUM4"], "LoginSettings": {"Password": "hunter2hunter2"}}
    env_id = service.create(ME, create_request(1, EnvData=data, EnvDescription="d"))
    info = service.create_info(ME, env_id)
    assert info.EnvData is not None and info.EnvData.LoginSettings is not None
    assert info.EnvData.LoginSettings.Password == "********"
    assert (info.EnvName, info.EnvDescription, info.DesiredComputeNodeCount) == ("pool", "d", 1)
    assert (info.MountDataDisks, info.InputMappings, info.Authentications, info.Notifications) == ([],) * 4


@pytest.mark.parametrize(
    ("env", "code"),
    [
        ({"EnvName": "n" * 61}, "InvalidParameter.EnvNameTooLong"),
        ({"EnvName": ""}, "InvalidParameterValue"),
        ({"EnvDescription": "d" * 201}, "InvalidParameter.EnvDescriptionTooLong"),
        ({"DesiredComputeNodeCount": -1}, "InvalidParameterValue.Negative"),
        ({"DesiredComputeNodeCount": 11}, "InvalidParameterValue.LimitExceeded"),
        ({"EnvType": "THPC_QUEUE"}, "InvalidParameterValue.ComputeEnv"),
        ({"EnvData": {"InstanceType": "X9.HUGE"}}, "InvalidParameterValue.InstanceType"),
        ({"EnvData": {"InstanceTypes": ["S2.SMALL1", "S2.MEDIUM4"]}}, "InvalidParameterValue.InstanceType"),
        (
            {"EnvData": {"InstanceTypes": ["S2.SMALL1", "S2.SMALL1"]}},
            "InvalidParameterValue.InstanceTypeDuplicate",
        ),
        ({"EnvData": {}}, "InvalidParameterValue.ComputeEnv"),
        ({"EnvData": {"InstanceType": "S2.SMALL1", "ImageId": "img-X"}}, "InvalidParameter.ImageIdMalformed"),
        (
            {"EnvData": {"InstanceType": "S2.SMALL1", "Zones": ["ap-shanghai-1"]}},
            "InvalidParameterValue.InvalidZoneMismatchRegion",
        ),
        ({"MountDataDisks": [{"LocalPath": "/mnt"}]}, "InvalidParameterValue"),
        (
            {"Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]},
            "InvalidParameterValue.LimitExceeded",
        ),
        ({"ActionIfComputeNodeInactive": "IGNORE"}, "InvalidParameterValue"),
        ({"ResourceMaxRetryCount": 101}, "InvalidParameterValue"),
        ({"NotificationTarget": "SNS"}, "InvalidParameterValue"),
        (
            {
                "Notifications": [
                    {"TopicName": "t", "EventConfigs": [{"EventName": "JOB_FAILED", "EventVars": []}]}
                ]
            },
            "InvalidParameterValue",
        ),
    ],
)
def test_invalid_create_is_refused_before_anything_is_stored(
    service: ComputeEnvService, env: dict[str, Any], code: str
) -> None:
    assert code_of(lambda: service.create(ME, create_request(**env))) == code
    assert service.describe_many(ME, DescribeComputeEnvsRequest()).TotalCount == 0


# Modify, delete ---------------------------------------------------------------------------------------


def modify(service: ComputeEnvService, env_id: str, **members: Any) -> None:
    service.modify(ME, parse(ModifyComputeEnvRequest, {"EnvId": env_id, **members}))


def test_resizing_records_the_change_in_the_examples_words(service: ComputeEnvService, db: Database) -> None:
    env_id = service.create(ME, create_request(1))
    modify(service, env_id, DesiredComputeNodeCount=2)
    modify(service, env_id, DesiredComputeNodeCount=0, EnvName="renamed", EnvDescription="")
    assert [cause for _kind, cause, _ids in requests_of(db, env_id)][1:] == [
        "ModifyComputeEnv: increase the capacity from 1 to 2",
        "ModifyComputeEnv: decrease the capacity from 2 to 0",
    ]
    view = service.describe(ME, env_id)
    assert (view.DesiredComputeNodeCount, view.EnvName) == (0, "renamed")


def test_renaming_records_nothing_for_the_scheduler(
    service: ComputeEnvService, db: Database, settles: Settles
) -> None:
    env_id = service.create(ME, create_request(1))
    modify(service, env_id, EnvName="x", DesiredComputeNodeCount=1)
    assert (len(requests_of(db, env_id)), settles.calls) == (1, 1)


@pytest.mark.parametrize(
    ("members", "code"),
    [
        ({}, "MissingParameter"),
        ({"DesiredComputeNodeCount": -1}, "InvalidParameterValue.Negative"),
        ({"DesiredComputeNodeCount": 11}, "InvalidParameterValue.LimitExceeded"),
        ({"EnvName": "n" * 61}, "InvalidParameter.EnvNameTooLong"),
        ({"EnvDescription": "d" * 201}, "InvalidParameter.EnvDescriptionTooLong"),
        ({"EnvData": {"InstanceTypes": []}}, "InvalidParameterValue.InstanceTypesEmpty"),
        (
            {"EnvData": {"InstanceTypes": ["S2.SMALL1", "S2.SMALL1"]}},
            "InvalidParameterValue.InstanceTypeDuplicate",
        ),
        ({"EnvData": {"InstanceTypes": ["X9.HUGE"]}}, "InvalidParameterValue.InstanceType"),
        ({"EnvData": {"InstanceTypes": ["S2.SMALL1", "S3.SMALL1"]}}, "InvalidParameterValue.InstanceType"),
    ],
)
def test_invalid_modify_is_refused(service: ComputeEnvService, members: dict[str, Any], code: str) -> None:
    env_id = service.create(ME, create_request(1))
    assert code_of(lambda: modify(service, env_id, **members)) == code


def test_instance_type_changes_only_without_nodes_or_unfinished_tasks(
    service: ComputeEnvService, submitter: JobSubmitter, db: Database
) -> None:
    env_id = service.create(ME, create_request(0))
    add_node(db, env_id, "node-aaaaaaaa")
    change = {"EnvData": {"InstanceTypes": ["S2.SMALL1"]}}
    assert code_of(lambda: modify(service, env_id, **change)) == "UnsupportedOperation"
    with db.write() as conn:
        conn.execute(nodes.delete())
    submit_in(submitter, ME, env_id)
    assert code_of(lambda: modify(service, env_id, **change)) == "UnsupportedOperation"
    end_tasks(db)
    modify(service, env_id, **change)
    with db.read() as conn:
        assert conn.scalar(select(compute_envs.c.instance_type)) == "S2.SMALL1"


def test_delete_waits_for_unfinished_tasks_then_marks_the_env_deleting(
    service: ComputeEnvService, submitter: JobSubmitter, db: Database
) -> None:
    env_id = service.create(ME, create_request(1))
    submit_in(submitter, ME, env_id)
    assert code_of(lambda: service.delete(ME, env_id)) == "UnsupportedOperation.ComputeEnvOperation"
    end_tasks(db)
    service.delete(ME, env_id)
    assert requests_of(db, env_id)[-1] == ("DELETE", f"DeleteComputeEnv: {env_id}", [])
    assert service.describe(ME, env_id).NextAction == "DELETING"
    busy = "UnsupportedOperation.ComputeEnvAcceptOtherRequest"
    assert code_of(lambda: service.delete(ME, env_id)) == busy
    assert code_of(lambda: modify(service, env_id, DesiredComputeNodeCount=3)) == busy
    assert code_of(lambda: submit_in(submitter, ME, env_id)) == "ResourceNotFound.ComputeEnv"


# SubmitJob with EnvId ------------------------------------------------------------------------------------


def test_a_task_in_a_named_env_takes_its_instance_type_and_env(
    service: ComputeEnvService, submitter: JobSubmitter, db: Database
) -> None:
    env_id = service.create(ME, create_request(1))
    submit_in(submitter, ME, env_id)
    with db.read() as conn:
        row = conn.execute(select(tasks.c.env_pk, tasks.c.spec)).one()
    assert row.env_pk == env_pk(db, env_id)
    assert (row.spec["instance_type"], row.spec["cpu"], row.spec["memory_gib"], row.spec["gpu"]) == (
        "S2.MEDIUM4",
        2,
        4,
        0,
    )


@pytest.mark.parametrize(
    ("caller", "env_id", "code"),
    [
        (OTHER_ACCOUNT, None, "ResourceNotFound.ComputeEnv"),
        (OTHER_REGION, None, "ResourceNotFound.ComputeEnv"),
        (ME, "env-BAD", "InvalidParameter.EnvIdMalformed"),
        (ME, "env-abcdefgh", "ResourceNotFound.ComputeEnv"),
    ],
)
def test_submit_refuses_an_env_the_caller_cannot_use(
    service: ComputeEnvService, submitter: JobSubmitter, caller: Caller, env_id: str | None, code: str
) -> None:
    mine = service.create(ME, create_request(1))
    assert code_of(lambda: submit_in(submitter, caller, env_id or mine)) == code


# Terminating what runs in a named environment -----------------------------------------------------------


@pytest.mark.parametrize("refuse", [False, True])
def test_terminate_switch_refuses_only_tasks_of_named_envs(
    service: ComputeEnvService, submitter: JobSubmitter, db: Database, tmp_path: Path, refuse: bool
) -> None:
    env_id = service.create(ME, create_request(1))
    in_env = submit_in(submitter, ME, env_id)
    anonymous = {
        "TaskName": "t",
        "Application": {"Command": "true"},
        "ComputeEnv": {"EnvData": {"InstanceType": "S2.SMALL1"}},
    }
    elsewhere = submitter.submit(
        ME, parse(SubmitJobRequest, {"Placement": {"Zone": ZONE}, "Job": {"Tasks": [anonymous]}})
    )
    control = JobControl(db, lambda job_id: None, lambda: None, refuse_terminate_with_env_id=refuse)
    control.terminate_job(ME, elsewhere)
    attempts: list[Callable[[], None]] = [
        partial(control.terminate_job, ME, in_env),
        partial(control.terminate_instance, ME, in_env, "t", 0),
    ]
    for attempt in attempts:
        if refuse:
            assert code_of(attempt) == "UnsupportedOperation.TerminateOperationWithEnvId"
        else:
            attempt()


def test_a_job_of_a_deleted_env_cannot_be_retried(
    service: ComputeEnvService, submitter: JobSubmitter, db: Database, tmp_path: Path
) -> None:
    env_id = service.create(ME, create_request(1))
    job_id = submit_in(submitter, ME, env_id)
    with db.write() as conn:
        conn.execute(update(tasks).values(state=State.FAILED.value))
        conn.exec_driver_sql("UPDATE jobs SET state = 'FAILED'")
    service.delete(ME, env_id)
    control = JobControl(db, lambda job_id: None, lambda: None)
    assert code_of(lambda: control.retry_jobs(ME, [job_id])) == "UnsupportedOperation"


# Nodes ---------------------------------------------------------------------------------------------------


@pytest.fixture
def env_with_nodes(service: ComputeEnvService, db: Database) -> str:
    """node-created0 idle, node-running0 busy, node-submitt0 waiting, node-deleting deleting,
    node-attached attached by its owner (instance ins-attached)."""
    env_id = service.create(ME, create_request(4))
    add_node(db, env_id, "node-created0")
    add_node(db, env_id, "node-running0", NodeState.RUNNING)
    add_node(db, env_id, "node-submitt0", NodeState.SUBMITTED)
    add_node(db, env_id, "node-deleting", NodeState.DELETING)
    add_node(db, env_id, "node-attached", origin=Origin.USER_ATTACHED, instance_id="ins-attached")
    return env_id


def test_describe_shows_nodes_metrics_and_attached_count(
    service: ComputeEnvService, env_with_nodes: str
) -> None:
    view = service.describe(ME, env_with_nodes)
    assert [n.ComputeNodeId for n in view.ComputeNodeSet][:2] == ["node-created0", "node-running0"]
    idle, busy = view.ComputeNodeSet[0], view.ComputeNodeSet[1]
    assert (idle.TaskInstanceNumAvailable, busy.TaskInstanceNumAvailable) == (1, 0)
    assert (idle.Cpu, idle.Mem, idle.ResourceType, idle.ResourceOrigin) == (2, 4, "CVM", "BATCH_CREATED")
    assert idle.ResourceCreatedTime is not None and view.ComputeNodeSet[2].ResourceCreatedTime is None
    assert (idle.PrivateIpAddresses, idle.PublicIpAddresses, idle.AgentVersion) == ([], [], "")
    metrics = view.ComputeNodeMetrics
    assert (metrics.CreatedCount, metrics.RunningCount, metrics.SubmittedCount, metrics.DeletingCount) == (
        2,
        1,
        1,
        1,
    )
    assert view.AttachedComputeNodeCount == 1
    listed = service.describe_many(ME, DescribeComputeEnvsRequest(EnvIds=[env_with_nodes])).ComputeEnvSet[0]
    assert (listed.ComputeNodeMetrics, listed.AttachedComputeNodeCount) == (metrics, 1)


@pytest.mark.parametrize(
    ("node_ids", "code"),
    [
        (["node-zzzzzzzz"], "ResourceNotFound.ComputeNode"),
        (["node-deleting"], "UnsupportedOperation.ComputeNodeIsTerminating"),
        (["node-submitt0"], "UnsupportedOperation.ComputeNodeForbidTerminate"),
        (["node-attached"], "UnsupportedOperation.ComputeNodeForbidTerminate"),
        (["node-created0", "node-created0"], "InvalidParameterValue"),
        (["node-BAD"], "InvalidParameter.ComputeNodeIdMalformed"),
        ([], "InvalidParameterValue.LimitExceeded"),
        ([f"node-{i:08d}" for i in range(101)], "InvalidParameterValue.LimitExceeded"),
        (["node-created0", "node-zzzzzzzz"], "ResourceNotFound.ComputeNode"),
    ],
)
def test_terminate_nodes_refusals(
    service: ComputeEnvService, env_with_nodes: str, db: Database, node_ids: list[str], code: str
) -> None:
    before = requests_of(db, env_with_nodes)
    action = lambda: service.terminate_nodes(ME, env_with_nodes, node_ids, "TerminateComputeNodes")  # noqa: E731
    assert code_of(action) == code
    assert requests_of(db, env_with_nodes) == before


def test_terminating_records_the_nodes_once_and_keeps_desired(
    service: ComputeEnvService, env_with_nodes: str, db: Database
) -> None:
    service.terminate_nodes(ME, env_with_nodes, ["node-created0", "node-running0"], "TerminateComputeNodes")
    assert requests_of(db, env_with_nodes)[-1] == (
        "TERMINATE_NODES",
        "TerminateComputeNodes: node-created0, node-running0",
        ["node-created0", "node-running0"],
    )
    again = lambda: service.terminate_nodes(ME, env_with_nodes, ["node-running0"], "TerminateComputeNode")  # noqa: E731
    assert code_of(again) == "UnsupportedOperation.ComputeNodeIsTerminating"
    assert service.describe(ME, env_with_nodes).DesiredComputeNodeCount == 4


def instances(*ids: str) -> list[Instance]:
    return [Instance(InstanceId=i) for i in ids]


@pytest.mark.parametrize(
    ("ids", "code"),
    [
        (["ins-attached"], "UnsupportedOperation.InstancesNotAllowToAttach"),
        (["ins-created0"], "UnsupportedOperation.InstancesNotAllowToAttach"),
        (["ins-aaaaaaaa", "ins-aaaaaaaa"], "InvalidParameterValue.InstanceIdDuplicated"),
        (["i-123"], "InvalidParameter"),
        ([f"ins-{i:08d}" for i in range(6)], "InvalidParameterValue.LimitExceeded"),
    ],
)
def test_attach_refusals(service: ComputeEnvService, env_with_nodes: str, ids: list[str], code: str) -> None:
    """The env asks for 4 nodes and holds 1 attached: 5 more would pass the quota of 10."""
    assert code_of(lambda: service.attach(ME, env_with_nodes, instances(*ids))) == code


def test_an_instance_being_attached_cannot_be_attached_elsewhere(
    service: ComputeEnvService, db: Database
) -> None:
    first, second = service.create(ME, create_request(0)), service.create(OTHER_ACCOUNT, create_request(0))
    service.attach(ME, first, instances("ins-bbbbbbbb"))
    assert requests_of(db, first)[-1] == ("ATTACH", "AttachInstances: ins-bbbbbbbb", ["ins-bbbbbbbb"])
    code = code_of(lambda: service.attach(OTHER_ACCOUNT, second, instances("ins-bbbbbbbb")))
    assert code == "UnsupportedOperation.InstancesNotAllowToAttach"


def test_detach_takes_attached_nodes_and_pending_attachments_only(
    service: ComputeEnvService, env_with_nodes: str, db: Database
) -> None:
    service.attach(ME, env_with_nodes, instances("ins-cccccccc"))
    service.detach(ME, env_with_nodes, ["ins-attached", "ins-cccccccc"])
    assert requests_of(db, env_with_nodes)[-1][0] == EnvChange.DETACH
    cases = {
        "ins-attached": "UnsupportedOperation",  # already leaving
        "ins-created0": "UnsupportedOperation",  # made by Batch
        "ins-zzzzzzzz": "ResourceNotFound.ComputeNode",
    }
    for instance_id, code in cases.items():
        assert code_of(partial(service.detach, ME, env_with_nodes, [instance_id])) == code


# Lists and activities ------------------------------------------------------------------------------------


def test_lists_filter_page_and_count(service: ComputeEnvService) -> None:
    a = service.create(ME, create_request(0, EnvName="a", Tags=[{"Key": "team", "Value": "x"}]))
    b = service.create(ME, create_request(0, EnvName="b", Tags=[{"Key": "team", "Value": "y"}]))

    def ids(*filters: dict[str, Any], **page: int) -> tuple[int, list[str]]:
        request = parse(DescribeComputeEnvsRequest, {"Filters": list(filters), **page} if filters else page)
        answer = service.describe_many(ME, request)
        return answer.TotalCount, [e.EnvId for e in answer.ComputeEnvSet]

    assert ids() == (2, [b, a])
    assert ids(Limit=1, Offset=1) == (2, [a])
    assert ids({"Name": "tag:team", "Values": ["x"]}) == (1, [a])
    assert ids({"Name": "tag-value", "Values": ["y"]}, {"Name": "env-name", "Values": ["b"]}) == (1, [b])
    assert ids({"Name": "resource-type", "Values": ["CPM"]}) == (0, [])
    assert ids({"Name": "zone", "Values": [ZONE]}, {"Name": "env-id", "Values": [a, b]}) == (2, [b, a])
    infos = service.create_infos(ME, parse(DescribeComputeEnvCreateInfosRequest, {"EnvIds": [a]}))
    assert (infos.TotalCount, [i.EnvId for i in infos.ComputeEnvCreateInfoSet]) == (1, [a])


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"EnvIds": ["env-abcdefgh"], "Filters": []}, "InvalidParameter.InvalidParameterCombination"),
        ({"EnvIds": ["env-BAD"]}, "InvalidParameter.EnvIdMalformed"),
        ({"EnvIds": [f"env-{i:08d}" for i in range(101)]}, "InvalidParameterValue.LimitExceeded"),
        ({"Filters": [{"Name": "colour", "Values": ["x"]}]}, "InvalidFilter"),
        ({"Filters": [{"Name": "resource-type", "Values": ["VM"]}]}, "InvalidParameterValue.ResourceType"),
        ({"Filters": [{"Name": "zone", "Values": ["ap-shanghai-1"]}]}, "InvalidZone.MismatchRegion"),
        ({"Limit": 101}, "InvalidParameterValue.LimitExceeded"),
    ],
)
def test_describe_compute_envs_refusals(
    service: ComputeEnvService, params: dict[str, Any], code: str
) -> None:
    assert code_of(lambda: service.describe_many(ME, parse(DescribeComputeEnvsRequest, params))) == code


def test_create_infos_take_no_tag_filters(service: ComputeEnvService) -> None:
    request = parse(
        DescribeComputeEnvCreateInfosRequest, {"Filters": [{"Name": "tag:team", "Values": ["x"]}]}
    )
    assert code_of(lambda: service.create_infos(ME, request)) == "InvalidFilter"


def test_activities_newest_first_filtered_by_node(service: ComputeEnvService, db: Database) -> None:
    env_id = service.create(ME, create_request(2))
    with db.write() as conn:
        for i, node_id in enumerate(["node-aaaaaaaa", "node-bbbbbbbb", "node-aaaaaaaa"]):
            conn.execute(
                insert(env_activities).values(
                    activity_id=f"act-0000000{i}",
                    env_pk=env_pk(db, env_id),
                    node_id=node_id,
                    instance_id="ins-00000000",
                    kind="CREATE_COMPUTE_NODE",
                    cause="CreateComputeEnv: the capacity is 2",
                    state="SUCCEED",
                    start_time=1_520_509_723.0,
                    end_time=None if i == 2 else 1_520_509_757.0,
                )
            )

    def page(**params: Any) -> tuple[int, list[str]]:
        answer = service.activities(
            ME, parse(DescribeComputeEnvActivitiesRequest, {"EnvId": env_id, **params})
        )
        return answer.TotalCount, [a.ActivityId for a in answer.ActivitySet]

    assert page() == (3, ["act-00000002", "act-00000001", "act-00000000"])
    assert page(Filters={"Name": "compute-node-id", "Values": ["node-aaaaaaaa"]}, Limit=1) == (
        2,
        ["act-00000002"],
    )
    newest = service.activities(
        ME, parse(DescribeComputeEnvActivitiesRequest, {"EnvId": env_id})
    ).ActivitySet[0]
    assert (newest.EnvId, newest.StartTime, newest.EndTime) == (env_id, "2018-03-08T11:48:43Z", None)
    bad = {"EnvId": env_id, "Filters": {"Name": "compute-node-id", "Values": ["nope"]}}
    code = code_of(lambda: service.activities(ME, parse(DescribeComputeEnvActivitiesRequest, bad)))
    assert code == "InvalidParameter.ComputeNodeIdMalformed"
    unknown = {"EnvId": env_id, "Filters": {"Name": "node", "Values": []}}
    assert (
        code_of(lambda: service.activities(ME, parse(DescribeComputeEnvActivitiesRequest, unknown)))
        == "InvalidFilter"
    )
