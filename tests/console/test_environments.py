"""Compute environments: the list, and an environment's nodes and activities."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from tencentcloud.batch.v20170312 import batch_client

from conftest import ZONE, call, wait_for
from console.helpers import sign_in


@pytest.fixture
def env_id(sdk: batch_client.BatchClient) -> Iterator[str]:
    """A named environment of one node, made ready, deleted afterwards."""
    request = {
        "ComputeEnv": {
            "EnvName": "console-pool",
            "DesiredComputeNodeCount": 1,
            "EnvData": {"InstanceType": "S2.SMALL1"},
        },
        "Placement": {"Zone": ZONE},
    }
    env_id = str(call(sdk, "CreateComputeEnv", request).EnvId)
    wait_for(lambda: call(sdk, "DescribeComputeEnv", {"EnvId": env_id}).ComputeNodeMetrics.CreatedCount == 1)
    yield env_id
    call(sdk, "DeleteComputeEnv", {"EnvId": env_id})


def test_an_environment_shows_its_nodes_and_activities(
    page: Page, sdk: batch_client.BatchClient, env_id: str
) -> None:
    node = call(sdk, "DescribeComputeEnv", {"EnvId": env_id}).ComputeNodeSet[0]
    sign_in(page, path="/envs")
    row = page.locator(f'table.envs tr[data-env-id="{env_id}"]')
    expect(row).to_contain_text("console-pool")
    expect(row.locator(".counts")).to_have_text("1 CREATED")
    row.locator("a").click()
    expect(page.locator("h1 .env-name")).to_have_text("console-pool")
    node_row = page.locator(f'table.nodes tr[data-node-id="{node.ComputeNodeId}"]')
    expect(node_row.locator(".badge")).to_have_text("CREATED")
    expect(node_row).to_contain_text(node.ComputeNodeInstanceId)
    activity = page.locator("table.activities tbody tr", has_text="CREATE_COMPUTE_NODE")
    expect(activity).to_contain_text(node.ComputeNodeId)
    expect(activity.locator(".badge")).to_have_text("SUCCEED")
