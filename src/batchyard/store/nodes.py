"""The scheduler's writes and reads of compute nodes, their activities and the environments' requests.

Nodes and activities are numbered by the scheduler (their only writer), so inserts are plain
batches; every function takes the tick's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from batchyard.store.scheduling import Bulk
from batchyard.store.tables import compute_envs, env_activities, env_intents, nodes

# Inserts carry every column, so a node made and changed in one tick is written once.
NODE_COLUMNS = tuple(c.name for c in nodes.columns)
ACTIVITY_COLUMNS = tuple(c.name for c in env_activities.columns)
_INSERT_NODE = Bulk(insert(nodes).values({c: bindparam(c) for c in NODE_COLUMNS}))
_INSERT_ACTIVITY = Bulk(insert(env_activities).values({c: bindparam(c) for c in ACTIVITY_COLUMNS}))
_DELETE_NODE = Bulk(delete(nodes).where(nodes.c.pk == bindparam("b_pk")))


@cache
def _update(table: Any, columns: tuple[str, ...]) -> Bulk:
    return Bulk(
        update(table).where(table.c.pk == bindparam("b_pk")).values({c: bindparam(c) for c in columns})
    )


def _update_rows(conn: Connection, table: Any, rows: Mapping[int, Mapping[str, Any]]) -> None:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for pk, values in rows.items():
        groups[tuple(values)].append({"b_pk": pk, **values})
    for columns, group in groups.items():
        _update(table, columns).run(conn, group)


def write_nodes(
    conn: Connection,
    inserts: Sequence[Mapping[str, Any]],
    updates: Mapping[int, Mapping[str, Any]],
    deletes: Iterable[int],
) -> None:
    if inserts:
        _INSERT_NODE.run(conn, inserts)
    _update_rows(conn, nodes, {pk: values for pk, values in updates.items() if values})
    gone = [{"b_pk": pk} for pk in deletes]
    if gone:
        _DELETE_NODE.run(conn, gone)


def write_activities(
    conn: Connection, inserts: Sequence[Mapping[str, Any]], updates: Mapping[int, Mapping[str, Any]]
) -> None:
    if inserts:
        _INSERT_ACTIVITY.run(conn, inserts)
    _update_rows(conn, env_activities, updates)


def last_pks(conn: Connection) -> tuple[int, int]:
    """The highest node and activity numbers in use: the scheduler numbers new ones from there."""
    node = conn.scalar(select(func.coalesce(func.max(nodes.c.pk), 0))) or 0
    activity = conn.scalar(select(func.coalesce(func.max(env_activities.c.pk), 0))) or 0
    return node, activity


def all_nodes(conn: Connection) -> list[Any]:
    return list(conn.execute(select(nodes).order_by(nodes.c.pk)))


def open_activities(conn: Connection) -> list[Any]:
    """Activities not yet ended, by node: each ends when its node is ready, failed or gone."""
    return list(
        conn.execute(
            select(env_activities.c.pk, env_activities.c.node_id).where(env_activities.c.end_time.is_(None))
        )
    )


# Environments, as the scheduler needs them -----------------------------------------------------


def env_rows(conn: Connection, env_pks: Iterable[int]) -> dict[int, Any]:
    rows = conn.execute(
        select(
            compute_envs.c.pk,
            compute_envs.c.env_id,
            compute_envs.c.instance_type,
            compute_envs.c.desired,
            compute_envs.c.deleting,
        ).where(compute_envs.c.pk.in_(sorted(set(env_pks))))
    )
    return {row.pk: row for row in rows}


def deleting_envs(conn: Connection) -> list[int]:
    return list(conn.scalars(select(compute_envs.c.pk).where(compute_envs.c.deleting != 0)))


def delete_envs(conn: Connection, env_pks: Sequence[int]) -> None:
    if env_pks:
        conn.execute(delete(compute_envs).where(compute_envs.c.pk.in_(list(env_pks))))


def pending_env_intents(conn: Connection) -> list[Any]:
    return list(conn.execute(select(env_intents).order_by(env_intents.c.pk)))


def delete_env_intents(conn: Connection, pks: Sequence[int]) -> None:
    if pks:
        conn.execute(delete(env_intents).where(env_intents.c.pk.in_(list(pks))))
