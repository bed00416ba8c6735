"""Gauges of what the store holds, read when scraped: instances by state, the queue of each environment,
nodes by state in each environment.

A scrape that cannot read the store answers without these gauges, and says so with
``batchyard_store_readable`` 0; it never fails for that.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from batchyard.domain.nodes import NodeState
from batchyard.domain.states import State
from batchyard.store.database import Database
from batchyard.store.totals import Totals, read_totals
from batchyard.store.unavailable import StoreUnavailable

log = logging.getLogger(__name__)

ANONYMOUS = "anonymous"  # the env_id label of tasks that name no environment, and of the nodes made for them


class StoredState:
    def __init__(self, db: Database) -> None:
        self._db = db

    def describe(self) -> list[Metric]:
        """The names it answers with, so that the registry refuses a clash without reading the store."""
        return [_readable(0), *_families(Totals({}, [], {}, {}))]

    def collect(self) -> Iterator[Metric]:
        try:
            with self._db.read() as conn:
                totals = read_totals(conn)
        except StoreUnavailable as exc:
            log.debug("metrics: the store could not be read: %s", exc.cause)
            yield _readable(0)
            return
        except Exception:
            log.exception("metrics: reading the store's totals failed")
            yield _readable(0)
            return
        yield _readable(1)
        yield from _families(totals)


def _readable(value: int) -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "batchyard_store_readable",
        "1 if this scrape read the store's gauges (instances, queue depth, nodes), 0 if it could not.",
        value=value,
    )


def _families(totals: Totals) -> list[Metric]:
    instances = GaugeMetricFamily("batchyard_instances", "Task instances by state.", labels=["state"])
    for state in State:
        instances.add_metric([state.value], totals.instances.get(state, 0))
    queue = GaugeMetricFamily(
        "batchyard_queue_depth",
        "RUNNABLE instances waiting for a node, by environment (anonymous: tasks that name none).",
        labels=["env_id"],
    )
    nodes = GaugeMetricFamily(
        "batchyard_nodes", "Compute nodes by environment and state.", labels=["env_id", "state"]
    )
    for env in [None, *totals.envs]:
        label = env or ANONYMOUS
        queue.add_metric([label], totals.runnable.get(env, 0))
        for node_state in NodeState:
            nodes.add_metric([label, node_state.value], totals.nodes.get((env, node_state), 0))
    return [instances, queue, nodes]
