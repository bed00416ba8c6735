"""Totals over the whole store, for the metrics scrape: a few aggregate reads, never a count of instances.

Instances by state come from the tasks' per-state counters; the queue of an environment is the
runnable instances of its tasks, read through the runnable tasks' partial index; nodes are few (each
holds a share of a host), so they are counted as rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from batchyard.domain.nodes import NodeState
from batchyard.domain.states import State
from batchyard.store.tables import COUNTER, compute_envs, nodes, tasks

_INSTANCES = select(*(func.coalesce(func.sum(tasks.c[column]), 0) for column in COUNTER.values()))
_RUNNABLE_BY_ENV = (
    select(tasks.c.env_pk, func.sum(tasks.c.n_runnable))
    .where(tasks.c.n_runnable > 0)
    .group_by(tasks.c.env_pk)
)
_ENVS = select(compute_envs.c.pk, compute_envs.c.env_id)
_NODES_BY_ENV = select(nodes.c.env_pk, nodes.c.state, func.count()).group_by(nodes.c.env_pk, nodes.c.state)


@dataclass(frozen=True)
class Totals:
    """What the store holds right now. Environments are named by id; None is the anonymous ones
    (the nodes made for tasks that name no environment)."""

    instances: dict[State, int]
    envs: list[str]
    runnable: dict[str | None, int]
    nodes: dict[tuple[str | None, NodeState], int]


def read_totals(conn: Connection) -> Totals:
    """Four reads in one transaction, so the figures agree with each other."""
    sums = conn.execute(_INSTANCES).one()
    instances = {state: int(n) for state, n in zip(COUNTER, sums, strict=True)}
    env_ids: dict[int | None, str | None] = {pk: env_id for pk, env_id in conn.execute(_ENVS)}
    env_ids[None] = None
    runnable = {env_ids[pk]: int(n) for pk, n in conn.execute(_RUNNABLE_BY_ENV) if pk in env_ids}
    counted = {
        (env_ids[pk], NodeState(state)): int(n)
        for pk, state, n in conn.execute(_NODES_BY_ENV)
        if pk in env_ids
    }
    return Totals(instances, [e for e in env_ids.values() if e is not None], runnable, counted)
