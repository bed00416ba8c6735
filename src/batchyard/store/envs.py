"""The API's side of compute environments: their rows, and the changes it asks of their nodes.

The API writes ``compute_envs`` (create, rename, resize, mark deleting) and appends ``env_intents``;
it only reads ``nodes`` and ``env_activities``, which the scheduler alone writes. Every function
takes the caller's transaction, so a check and the change it allows commit together.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from batchyard.domain.nodes import EnvChange
from batchyard.domain.states import TERMINAL
from batchyard.store.tables import compute_envs, env_activities, env_intents, nodes, tasks

_SCOPE = (compute_envs.c.account == bindparam("account"), compute_envs.c.region == bindparam("region"))
_ENV_BY_ID = select(compute_envs).where(compute_envs.c.env_id == bindparam("env_id"), *_SCOPE)
_BY_CLIENT_TOKEN = select(compute_envs.c.env_id, compute_envs.c.create_info).where(
    compute_envs.c.account == bindparam("account"), compute_envs.c.client_token == bindparam("token")
)
_ENDED = [state.value for state in TERMINAL]


@dataclass(frozen=True)
class NewEnv:
    env_id: str
    account: str
    region: str
    zone: str
    name: str
    description: str
    env_type: str
    instance_type: str
    desired: int
    action_if_inactive: str
    tags: list[dict[str, str]]
    create_info: dict[str, Any]
    client_token: str | None
    create_time: float


class DuplicateEnvId(Exception):
    """The random env id collided with an existing one; the caller rolls back and draws another."""


def insert_env(conn: Connection, env: NewEnv) -> int:
    try:
        return int(conn.execute(insert(compute_envs).returning(compute_envs.c.pk), asdict(env)).scalar_one())
    except IntegrityError as exc:
        raise DuplicateEnvId(env.env_id) from exc


def env_by_id(conn: Connection, account: str, region: str, env_id: str) -> Any:
    return conn.execute(_ENV_BY_ID, {"env_id": env_id, "account": account, "region": region}).one_or_none()


def envs_in_scope(conn: Connection, account: str, region: str) -> list[Any]:
    """Every environment of an account in a region, newest first (the quota keeps this short)."""
    query = select(compute_envs).where(*_SCOPE).order_by(compute_envs.c.pk.desc())
    return list(conn.execute(query, {"account": account, "region": region}))


def count_envs(conn: Connection, account: str, region: str) -> int:
    query = select(func.count()).select_from(compute_envs).where(*_SCOPE)
    return int(conn.scalar(query, {"account": account, "region": region}) or 0)


def find_by_client_token(conn: Connection, account: str, token: str) -> Any:
    return conn.execute(_BY_CLIENT_TOKEN, {"account": account, "token": token}).one_or_none()


def update_env(conn: Connection, env_pk: int, values: Mapping[str, Any]) -> None:
    """Only the columns the API owns: name, description, desired, instance_type, deleting."""
    conn.execute(update(compute_envs).where(compute_envs.c.pk == env_pk).values(dict(values)))


def usable_envs(conn: Connection, account: str, region: str, env_ids: Collection[str]) -> dict[str, Any]:
    """The caller's environments among ``env_ids`` that take new tasks (those not being deleted)."""
    if not env_ids:
        return {}
    query = select(compute_envs.c.pk, compute_envs.c.env_id, compute_envs.c.instance_type).where(
        compute_envs.c.env_id.in_(sorted(env_ids)), compute_envs.c.deleting == 0, *_SCOPE
    )
    return {row.env_id: row for row in conn.execute(query, {"account": account, "region": region})}


# Requests for the scheduler -------------------------------------------------------------------------


def record_change(
    conn: Connection, env_pk: int, kind: EnvChange, cause: str, ids: Sequence[str], now: float
) -> None:
    values = {"env_pk": env_pk, "kind": kind.value, "cause": cause, "ids": list(ids), "create_time": now}
    conn.execute(insert(env_intents).values(values))


def pending_ids(conn: Connection, kind: EnvChange, env_pk: int | None = None) -> set[str]:
    """The ids named by requests of ``kind`` the scheduler has not carried out yet (of one env, or all)."""
    query = select(env_intents.c.ids).where(env_intents.c.kind == kind.value)
    if env_pk is not None:
        query = query.where(env_intents.c.env_pk == env_pk)
    return {value for ids in conn.scalars(query) for value in ids}


# Nodes and activities, as written by the scheduler ---------------------------------------------------


def nodes_of(conn: Connection, env_pk: int) -> list[Any]:
    return list(conn.execute(select(nodes).where(nodes.c.env_pk == env_pk).order_by(nodes.c.pk)))


def node_tallies(conn: Connection, env_pks: Sequence[int]) -> list[Any]:
    """(env_pk, state, origin, n) for the given environments' nodes."""
    cols = (nodes.c.env_pk, nodes.c.state, nodes.c.origin)
    query = select(*cols, func.count().label("n")).where(nodes.c.env_pk.in_(list(env_pks))).group_by(*cols)
    return list(conn.execute(query))


def nodes_by_ids(conn: Connection, env_pk: int, node_ids: Sequence[str]) -> dict[str, Any]:
    query = select(nodes).where(nodes.c.env_pk == env_pk, nodes.c.node_id.in_(list(node_ids)))
    return {row.node_id: row for row in conn.execute(query)}


def nodes_by_instance_ids(conn: Connection, instance_ids: Sequence[str]) -> dict[str, Any]:
    """Nodes of any environment or account: an instance id is a node at most once anywhere."""
    query = select(nodes).where(nodes.c.instance_id.in_(list(instance_ids)))
    return {row.instance_id: row for row in conn.execute(query)}


def activities_page(
    conn: Connection, env_pk: int, node_ids: Sequence[str] | None, offset: int, limit: int
) -> tuple[int, list[Any]]:
    """Newest first, with the total before paging."""
    where = [env_activities.c.env_pk == env_pk]
    if node_ids is not None:
        where.append(env_activities.c.node_id.in_(list(node_ids)))
    total = conn.scalar(select(func.count()).select_from(env_activities).where(*where)) or 0
    query = select(env_activities).where(*where).order_by(env_activities.c.pk.desc())
    return int(total), list(conn.execute(query.offset(offset).limit(limit)))


# Tasks that run in named environments ------------------------------------------------------------------


def has_unfinished_tasks(conn: Connection, env_pk: int) -> bool:
    query = exists().where(tasks.c.env_pk == env_pk, tasks.c.state.not_in(_ENDED))
    return bool(conn.scalar(select(query)))


def job_env_pks(conn: Connection, job_pk: int) -> set[int]:
    """The named environments a job's tasks run in."""
    query = select(tasks.c.env_pk).where(tasks.c.job_pk == job_pk, tasks.c.env_pk.is_not(None))
    return set(conn.scalars(query))


def live_env_pks(conn: Connection, env_pks: Collection[int]) -> set[int]:
    """Those of ``env_pks`` that still exist and are not being deleted."""
    if not env_pks:
        return set()
    live = (compute_envs.c.pk.in_(sorted(env_pks)), compute_envs.c.deleting == 0)
    query = select(compute_envs.c.pk).where(*live)
    return set(conn.scalars(query))
