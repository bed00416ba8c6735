"""What the English and the Chinese API pages say differently, accepted either way (docs/semantics.md,
"Where the English and Chinese pages differ"), through the official SDK."""

from __future__ import annotations

from typing import Any

import pytest
from tencentcloud.batch.v20170312 import batch_client
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from conftest import call, submit, task, wait_job

STATE_FILTER_NAMES = ["task-instance-state", "task-instance-type"]  # Chinese page, English page


@pytest.fixture(scope="module")
def job_id(sdk: batch_client.BatchClient) -> str:
    """Task `t` of four instances: the odd ones fail."""
    job = submit(sdk, task("t", "exit $((BATCH_TASK_INSTANCE_INDEX % 2))", TaskInstanceNum=4))
    wait_job(sdk, job)
    return str(job)


def describe_task(sdk: batch_client.BatchClient, job_id: str, *filters: tuple[str, list[str]]) -> Any:
    params = {"JobId": job_id, "TaskName": "t", "Filters": [{"Name": n, "Values": v} for n, v in filters]}
    return call(sdk, "DescribeTask", params)


@pytest.mark.parametrize("name", STATE_FILTER_NAMES)
def test_describe_task_state_filter_answers_to_either_pages_name(
    sdk: batch_client.BatchClient, job_id: str, name: str
) -> None:
    failed = describe_task(sdk, job_id, (name, ["FAILED"]))

    assert [i.TaskInstanceIndex for i in failed.TaskInstanceSet] == [1, 3]
    assert failed.TaskInstanceTotalCount == 2


def test_both_names_of_the_state_filter_combine_as_two_filters(
    sdk: batch_client.BatchClient, job_id: str
) -> None:
    """Filters are AND-ed whatever they are called: FAILED-or-SUCCEED and FAILED is FAILED."""
    both = describe_task(
        sdk, job_id, (STATE_FILTER_NAMES[0], ["FAILED", "SUCCEED"]), (STATE_FILTER_NAMES[1], ["FAILED"])
    )

    assert [i.TaskInstanceIndex for i in both.TaskInstanceSet] == [1, 3]


def test_unknown_task_filter_is_refused_naming_both_accepted_names(
    sdk: batch_client.BatchClient, job_id: str
) -> None:
    with pytest.raises(TencentCloudSDKException) as refused:
        describe_task(sdk, job_id, ("task-state", ["FAILED"]))

    assert refused.value.code == "InvalidFilter"
    assert all(f"`{name}`" in refused.value.message for name in STATE_FILTER_NAMES)
