"""The metrics page answers what it can: a store that cannot be read costs its gauges, never the scrape."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from batchyard.api.actions import ACTIONS
from batchyard.metrics.registry import Metrics, exposition
from batchyard.store.database import Database


def names(body: bytes) -> set[str]:
    return {family.name for family in text_string_to_metric_families(body.decode())}


def test_a_store_that_cannot_be_read_leaves_out_its_gauges_and_says_so(tmp_path: Path) -> None:
    metrics = Metrics.build(Database(f"sqlite:///{tmp_path}/missing/folder/batchyard.db"), ACTIONS)
    metrics.requests.observe("DescribeJob", "OK", 0.01)

    body, content_type = exposition(metrics.registry, "")

    assert content_type.startswith("text/plain")
    assert metrics.registry.get_sample_value("batchyard_store_readable") == 0
    assert {"batchyard_api_requests", "batchyard_scheduler_tick_duration_seconds"} <= names(body)
    assert not {"batchyard_instances", "batchyard_queue_depth", "batchyard_nodes"} & names(body)


def test_a_readable_store_gives_every_gauge_for_the_anonymous_environment(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/batchyard.db")
    db.migrate()
    metrics = Metrics.build(db, ACTIONS)

    assert metrics.registry.get_sample_value("batchyard_store_readable") == 1
    assert metrics.registry.get_sample_value("batchyard_instances", {"state": "RUNNABLE"}) == 0
    assert metrics.registry.get_sample_value("batchyard_queue_depth", {"env_id": "anonymous"}) == 0
    created = {"env_id": "anonymous", "state": "CREATED"}
    assert metrics.registry.get_sample_value("batchyard_nodes", created) == 0


def test_an_action_not_in_the_table_is_counted_as_unknown() -> None:
    metrics = Metrics.build(Database("sqlite://"), ACTIONS)
    metrics.requests.observe("DescribeJobz", "InvalidAction", 0.001)
    labels = {"action": "unknown", "code": "InvalidAction"}
    assert metrics.registry.get_sample_value("batchyard_api_requests_total", labels) == 1
