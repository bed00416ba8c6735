"""Pure rules: the task graph, dependency conditions, ids, log names, remote paths, rate limits."""

from __future__ import annotations

import pytest

from batchyard.api.ratelimit import RateLimiter
from batchyard.domain.dag import order_tasks
from batchyard.domain.dependencies import Predecessor, blocking
from batchyard.domain.errors import ApiError
from batchyard.domain.ids import is_job_id, new_id
from batchyard.domain.redirect import log_file_name
from batchyard.domain.states import State
from batchyard.domain.waiting import WORDING, Wait, predecessors_unfinished, say
from batchyard.storage.paths import parse_remote


def test_order_tasks_is_topological() -> None:
    order = order_tasks(["D", "C", "B", "A"], [("A", "B"), ("A", "C"), ("B", "D"), ("C", "D")])
    assert order.index("A") < order.index("B") < order.index("D")
    assert order.index("C") < order.index("D")


@pytest.mark.parametrize(
    ("edges", "code"),
    [
        ([("A", "X")], "InvalidParameterValue.DependenceNotFoundTaskName"),
        ([("A", "B"), ("B", "A")], "InvalidParameterValue.DependenceUnfeasible"),
        ([("A", "A")], "InvalidParameterValue.DependenceUnfeasible"),
    ],
)
def test_bad_graphs_are_refused_with_their_codes(edges: list[tuple[str, str]], code: str) -> None:
    with pytest.raises(ApiError) as info:
        order_tasks(["A", "B"], edges)
    assert info.value.code == code


@pytest.mark.parametrize(
    ("depend_on", "preds", "ready", "culprit"),
    [
        ("PRE_TASK_SUCCEED", [("A", State.SUCCEED, 2)], True, None),
        ("PRE_TASK_SUCCEED", [("A", State.RUNNING, 1)], False, None),
        ("PRE_TASK_SUCCEED", [("A", State.FAILED, 1)], True, "A"),
        ("PRE_TASK_AT_LEAST_PARTLY_SUCCEED", [("A", State.FAILED, 1)], True, None),
        ("PRE_TASK_AT_LEAST_PARTLY_SUCCEED", [("A", State.FAILED, 0)], True, "A"),
        ("PRE_TASK_FINISHED", [("A", State.FAILED, 0), ("B", State.SUCCEED, 1)], True, None),
        ("PRE_TASK_FINISHED", [("A", State.FAILED, 0), ("B", State.PENDING, 0)], False, None),
    ],
)
def test_dependency_conditions(
    depend_on: str, preds: list[tuple[str, State, int]], ready: bool, culprit: str | None
) -> None:
    got_ready, got_culprit = blocking([Predecessor(*p) for p in preds], depend_on)
    assert got_ready is ready
    assert (got_culprit.name if got_culprit else None) == culprit


@pytest.mark.parametrize(
    ("names", "tasks"),
    [
        (["a"], 'task "a"'),
        (["a", "b"], 'tasks "a" and "b"'),
        (["a", "b", "c"], 'tasks "a", "b" and "c"'),
        (["a", "b", "c", "d", "e"], 'tasks "a", "b", "c" and 2 more'),
    ],
)
def test_a_pending_reason_names_at_most_three_predecessors(names: list[str], tasks: str) -> None:
    said = predecessors_unfinished("PRE_TASK_FINISHED", names)
    assert said == f"waiting for {tasks} to finish (PRE_TASK_FINISHED)"


def test_waiting_reasons_spell_counts_of_instances_with_their_noun() -> None:
    one = say(Wait.BEHIND_TASK, task="x", job="job-12345678", ahead=1)
    assert one.endswith("(1 instance queued ahead of this task)")
    assert say(Wait.NO_FREE_NODE, env="env-1", busy=2, nodes=2, ahead=14).endswith(
        "(2 of 2 busy, 14 instances queued ahead of this task)"
    )
    assert set(WORDING) == set(Wait), "every reason has its words"


def test_new_ids_have_the_tencent_shape() -> None:
    assert all(is_job_id(new_id("job")) for _ in range(100))
    assert not is_job_id("job-ABCDEFGH")
    assert not is_job_id("job-1234567")


def test_log_file_names_default_and_placeholders() -> None:
    assert log_file_name(None, "stdout", "job-1", "A", 3) == "stdout.job-1.A.3.log"
    template = "${BATCH_JOB_ID}/${BATCH_TASK_NAME}-${BATCH_TASK_INSTANCE_INDEX}.txt"
    assert log_file_name(template, "stderr", "job-1", "A", 3) == "job-1/A-3.txt"


@pytest.mark.parametrize(
    ("url", "bucket", "key"),
    [
        ("cos://b-1251783334.cos.ap-guangzhou.myqcloud.com/logs/", "b-1251783334", "logs/"),
        ("cos://b-1251783334.cosgz.myqcloud.com/a/b/", "b-1251783334", "a/b/"),
        ("cos://b-1251783334/logs/", "b-1251783334", "logs/"),
    ],
)
def test_cos_paths_name_the_same_object_in_any_host_form(url: str, bucket: str, key: str) -> None:
    path = parse_remote(url, directory=True)
    assert (path.bucket, path.key) == (bucket, key)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("s3://bucket/logs/", "InvalidParameterValue.RemoteStorageSchemeType"),
        ("/local/logs/", "InvalidParameterValue.RemoteStorageSchemeType"),
        ("cos://bucket/logs", "InvalidParameterValue.RemoteStoragePath"),
        ("cos://Bad_Bucket/logs/", "InvalidParameterValue.RemoteStoragePath"),
        ("cos://bucket/../escape/", "InvalidParameterValue.RemoteStoragePath"),
    ],
)
def test_bad_remote_paths_are_refused(url: str, code: str) -> None:
    with pytest.raises(ApiError) as info:
        parse_remote(url, directory=True)
    assert info.value.code == code


def test_rate_limiter_allows_a_burst_then_refills_at_the_rate() -> None:
    now = [0.0]
    limiter = RateLimiter({"DescribeJobs": 2}, clock=lambda: now[0])
    limiter.acquire("acct", "ap-guangzhou", "DescribeJobs")
    limiter.acquire("acct", "ap-guangzhou", "DescribeJobs")
    with pytest.raises(ApiError) as info:
        limiter.acquire("acct", "ap-guangzhou", "DescribeJobs")
    assert info.value.code == "RequestLimitExceeded"
    limiter.acquire("other", "ap-guangzhou", "DescribeJobs")  # per account
    limiter.acquire("acct", "ap-shanghai", "DescribeJobs")  # per region
    now[0] = 0.5
    limiter.acquire("acct", "ap-guangzhou", "DescribeJobs")
    limiter.acquire("acct", "ap-guangzhou", "SubmitJob")  # actions without a limit pass
