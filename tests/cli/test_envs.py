"""``envs``, ``env`` and ``templates``: what the named environments and task templates hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from tencentcloud.batch.v20170312 import batch_client

from cli.helpers import invoke, json_of, ok, one_red_line, rows
from conftest import ZONE, Server, call, task, wait_for


@pytest.fixture(scope="module")
def env_id(sdk: batch_client.BatchClient) -> str:
    """A named environment of one node, once that node is up (idle: CREATED)."""
    spec = {"EnvName": "pool", "EnvType": "MANAGED", "DesiredComputeNodeCount": 1}
    spec["EnvData"] = {"InstanceType": "S2.SMALL1"}
    spec["Tags"] = [{"Key": "team", "Value": "blue"}]
    created = str(call(sdk, "CreateComputeEnv", {"ComputeEnv": spec, "Placement": {"Zone": ZONE}}).EnvId)

    def node_up() -> bool:
        nodes = call(sdk, "DescribeComputeEnv", {"EnvId": created}).ComputeNodeSet
        return bool(nodes) and nodes[0].ComputeNodeState == "CREATED"

    wait_for(node_up)
    return created


def test_envs_lists_the_named_environments_with_their_nodes(srv: Server, home: Path, env_id: str) -> None:
    output = ok(invoke("envs", home=home, srv=srv))
    [row] = rows(output, env_id)
    assert row[1:6] == ["pool", ZONE, "1", "1", "created"]
    assert row[-1] == "team=blue"
    assert "1 of 1 compute environments" in output


def test_env_shows_its_nodes_and_its_activities(
    srv: Server, home: Path, env_id: str, sdk: batch_client.BatchClient
) -> None:
    output = ok(invoke("env", env_id, home=home, srv=srv))
    assert rows(output, "Environment") == [["Environment", env_id]]
    node = call(sdk, "DescribeComputeEnv", {"EnvId": env_id}).ComputeNodeSet[0]
    [node_row] = rows(output, node.ComputeNodeId)[:1]
    assert node_row[1:3] == [node.ComputeNodeInstanceId, "CREATED"]
    assert "Activities" in output
    activity = call(sdk, "DescribeComputeEnvActivities", {"EnvId": env_id}).ActivitySet[0]
    assert activity.ComputeNodeActivityType in output and activity.Cause in output


def test_env_json_is_the_environment_and_its_activities(srv: Server, home: Path, env_id: str) -> None:
    printed = json_of(invoke("env", env_id, "--output", "json", home=home, srv=srv))
    assert printed["ComputeEnv"]["EnvId"] == env_id
    assert printed["ComputeEnv"]["ComputeNodeSet"][0]["ComputeNodeState"] == "CREATED"
    assert printed["ActivitySet"] and all(a["EnvId"] == env_id for a in printed["ActivitySet"])
    listed = json_of(invoke("envs", "-o", "json", home=home, srv=srv))
    assert [e["EnvId"] for e in listed["ComputeEnvSet"]] == [env_id] and listed["TotalCount"] == 1


def test_an_unknown_environment_is_the_apis_error_on_one_line(srv: Server, home: Path) -> None:
    assert one_red_line(invoke("env", "env-00000000", home=home, srv=srv), 3).startswith("ResourceNotFound")


def test_templates_lists_the_task_templates(srv: Server, home: Path, sdk: batch_client.BatchClient) -> None:
    params = {
        "TaskTemplateName": "nightly",
        "TaskTemplateDescription": "the nightly crunch",
        "TaskTemplateInfo": task("crunch", "true"),
    }
    template_id = str(call(sdk, "CreateTaskTemplate", params).TaskTemplateId)
    output = ok(invoke("templates", home=home, srv=srv))
    [row] = rows(output, template_id)
    assert row[1:6] == ["nightly", "the", "nightly", "crunch", "crunch"]
    printed = json_of(invoke("templates", "-o", "json", home=home, srv=srv))
    [template] = [t for t in printed["TaskTemplateSet"] if t["TaskTemplateId"] == template_id]
    assert template["TaskTemplateInfo"]["TaskName"] == "crunch"
