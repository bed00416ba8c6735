"""The compute environment actions: named pools of nodes the scheduler keeps at their desired count.

The API never touches a node. Each change it asks of an environment's nodes is an ``env_intents``
row written in the transaction that checked the rules; ``settle`` then wakes the scheduler and
returns once it has acted (as ``JobControl`` does for terminations).

Rules batchyard decided where the documentation is silent (value rules are in ``env_rules``):
- Quotas (``[quotas]`` in the config): ``compute_envs`` environments per account and region, counting
  those being deleted until they are gone (``LimitExceeded.ComputeEnvQuota``); ``nodes_per_env`` bounds
  ``DesiredComputeNodeCount`` plus the attached nodes (``InvalidParameterValue.LimitExceeded``).
- ``ClientToken``: the same token with the same request answers the original ``EnvId`` and creates
  nothing; with a different request it is ``InvalidParameterValue``.
- An environment being deleted accepts no other change (``UnsupportedOperation.
  ComputeEnvAcceptOtherRequest``); it is deleted only when no task that runs in it is unfinished
  (``UnsupportedOperation.ComputeEnvOperation``), and then disappears once the scheduler has retired
  its nodes.
- ModifyComputeEnv needs at least one member to change (``MissingParameter``). Lowering
  ``DesiredComputeNodeCount`` is always allowed: the scheduler retires idle nodes first, so
  ``NotEnoughComputeNodesToTerminate`` never arises. The instance type changes only while the
  environment has no nodes, none being attached and no unfinished task (``UnsupportedOperation``):
  scale to 0 first.
- TerminateComputeNode(s) leaves ``DesiredComputeNodeCount`` as it is: the scheduler makes a new node
  in place of the old. Attached nodes are detached, not terminated.
- An instance id is a node at most once anywhere: attaching one that is a node already, or about to
  be, is ``UnsupportedOperation.InstancesNotAllowToAttach``.
- ``COMPUTE_ENV_CREATED`` is stored in the transaction that creates the environment;
  ``COMPUTE_ENV_DELETED`` by the scheduler, when the environment is gone with its last node.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Final

from sqlalchemy import Connection

from batchyard.config.settings import Settings
from batchyard.domain.errors import ApiError
from batchyard.domain.ids import ENV_ID, INSTANCE_ID, NODE_ID, new_id
from batchyard.domain.nodes import RECREATE, EnvChange
from batchyard.domain.notifications import ENV_CREATED, Subscription
from batchyard.schema.common import Filter
from batchyard.schema.compute_envs import (
    ComputeEnvCreateInfo,
    CreateComputeEnvRequest,
    DescribeComputeEnvActivitiesRequest,
    DescribeComputeEnvActivitiesResponse,
    DescribeComputeEnvCreateInfoResponse,
    DescribeComputeEnvCreateInfosRequest,
    DescribeComputeEnvCreateInfosResponse,
    DescribeComputeEnvResponse,
    DescribeComputeEnvsRequest,
    DescribeComputeEnvsResponse,
    Instance,
    ModifyComputeEnvRequest,
)
from batchyard.service import env_rules, env_views, listing
from batchyard.service.context import Caller, Wake
from batchyard.service.env_validation import placement_zone
from batchyard.service.fields import check_client_token
from batchyard.store import envs, outbox
from batchyard.store.database import Database
from batchyard.store.subscriptions import subscribe

ENVS_LIMIT_DEFAULT: Final = 20
ENVS_LIMIT_MAX: Final = 100
ACTIVITIES_LIMIT_DEFAULT: Final = 20
ACTIVITIES_LIMIT_MAX: Final = 100
_ID_ATTEMPTS: Final = 5


def find_env(conn: Connection, caller: Caller, env_id: str) -> Any:
    """The caller's environment, or the documented error for a malformed or unknown id."""
    if not ENV_ID.fullmatch(env_id):
        raise ApiError("InvalidParameter.EnvIdMalformed", f"`{env_id}` is not a compute environment id.")
    env = envs.env_by_id(conn, caller.account, caller.region, env_id)
    if env is None:
        raise ApiError("ResourceNotFound.ComputeEnv", f"The compute environment `{env_id}` does not exist.")
    return env


def find_changeable_env(conn: Connection, caller: Caller, env_id: str) -> Any:
    env = find_env(conn, caller, env_id)
    if env.deleting:
        raise ApiError(
            "UnsupportedOperation.ComputeEnvAcceptOtherRequest",
            f"The compute environment `{env_id}` is being deleted and accepts no other change.",
        )
    return env


class ComputeEnvService:
    def __init__(self, db: Database, settings: Settings, settle: Wake, notify: Wake = lambda: None) -> None:
        """``notify``: tells the delivery of notifications that events were stored."""
        self._db = db
        self._notify = notify
        self._topics = frozenset(settings.notifications.topics)
        self._zones = settings.zones
        self._instance_types = settings.instance_types
        self._env_quota = settings.quotas.compute_envs
        self._node_quota = settings.quotas.nodes_per_env
        self._settle = settle  # wakes the scheduler and returns once it has carried out the request

    # Environments --------------------------------------------------------------------------------

    def create(self, caller: Caller, request: CreateComputeEnvRequest) -> str:
        env, wanted = self._new_env(caller, request)
        for _ in range(_ID_ATTEMPTS):
            try:
                with self._db.write() as conn:
                    earlier = self._earlier(conn, caller, request.ClientToken)
                    if earlier is not None:
                        return _replay(earlier, env.create_info)
                    self._check_env_quota(conn, caller)
                    env_pk = envs.insert_env(conn, env)
                    cause = f"CreateComputeEnv: the capacity is {env.desired}"
                    envs.record_change(conn, env_pk, EnvChange.RECONCILE, cause, [], env.create_time)
                    subscribe(conn, wanted, env_pk=env_pk)
                    outbox.add(conn, _created_events(env, wanted))
            except envs.DuplicateEnvId:
                env = replace(env, env_id=new_id("env"))
                continue
            if any(s.event == ENV_CREATED for s in wanted):
                self._notify()
            self._settle()
            return env.env_id
        raise ApiError("InternalError", "Could not allocate a compute environment id; please retry.")

    def modify(self, caller: Caller, request: ModifyComputeEnvRequest) -> None:
        desired = request.DesiredComputeNodeCount
        given = (desired, request.EnvName, request.EnvDescription, request.EnvData)
        if all(member is None for member in given):
            raise ApiError(
                "MissingParameter",
                "ModifyComputeEnv needs at least one of DesiredComputeNodeCount, EnvName, "
                "EnvDescription and EnvData.",
            )
        env_rules.check_texts(request.EnvName, request.EnvDescription, "")
        env_rules.check_not_negative(desired, "DesiredComputeNodeCount")
        kind = env_rules.modified_type(request.EnvData, self._instance_types)
        with self._db.write() as conn:
            env = find_changeable_env(conn, caller, request.EnvId)
            texts = (("name", request.EnvName), ("description", request.EnvDescription))
            values: dict[str, Any] = {column: text for column, text in texts if text is not None}
            if kind is not None and kind != env.instance_type:
                _check_type_change(conn, env)
                values["instance_type"] = kind
            if desired is not None and desired != env.desired:
                values["desired"] = self._resize(conn, env, desired)
            if values:
                envs.update_env(conn, env.pk, values)
        if "desired" in values:
            self._settle()

    def delete(self, caller: Caller, env_id: str) -> None:
        with self._db.write() as conn:
            env = find_changeable_env(conn, caller, env_id)
            if envs.has_unfinished_tasks(conn, env.pk):
                raise ApiError(
                    "UnsupportedOperation.ComputeEnvOperation",
                    f"The compute environment `{env_id}` still runs tasks that have not ended; "
                    "wait for them or terminate their jobs first.",
                )
            envs.update_env(conn, env.pk, {"deleting": 1})
            envs.record_change(conn, env.pk, EnvChange.DELETE, f"DeleteComputeEnv: {env_id}", [], time.time())
        self._settle()

    def describe(self, caller: Caller, env_id: str) -> DescribeComputeEnvResponse:
        with self._db.read() as conn:
            env = find_env(conn, caller, env_id)
            nodes = envs.nodes_of(conn, env.pk)
        return env_views.describe(env, nodes)

    def describe_many(
        self, caller: Caller, request: DescribeComputeEnvsRequest
    ) -> DescribeComputeEnvsResponse:
        keep = self._selection(caller, request.EnvIds, request.Filters, tags=True)
        offset, limit = listing.page(request.Offset, request.Limit, ENVS_LIMIT_DEFAULT, ENVS_LIMIT_MAX)
        with self._db.read() as conn:
            chosen = [e for e in envs.envs_in_scope(conn, caller.account, caller.region) if keep(e)]
            shown = chosen[offset : offset + limit]
            counts = env_views.counts_by_env(envs.node_tallies(conn, [e.pk for e in shown]))
        views = [env_views.env_view(e, counts.get(e.pk, env_views.NodeCounts())) for e in shown]
        return DescribeComputeEnvsResponse(ComputeEnvSet=views, TotalCount=len(chosen))

    def create_info(self, caller: Caller, env_id: str) -> DescribeComputeEnvCreateInfoResponse:
        with self._db.read() as conn:
            env = find_env(conn, caller, env_id)
        return DescribeComputeEnvCreateInfoResponse(**env_views.create_info_fields(env))

    def create_infos(
        self, caller: Caller, request: DescribeComputeEnvCreateInfosRequest
    ) -> DescribeComputeEnvCreateInfosResponse:
        keep = self._selection(caller, request.EnvIds, request.Filters, tags=False)
        offset, limit = listing.page(request.Offset, request.Limit, ENVS_LIMIT_DEFAULT, ENVS_LIMIT_MAX)
        with self._db.read() as conn:
            chosen = [e for e in envs.envs_in_scope(conn, caller.account, caller.region) if keep(e)]
        infos = [
            ComputeEnvCreateInfo(**env_views.create_info_fields(e)) for e in chosen[offset : offset + limit]
        ]
        return DescribeComputeEnvCreateInfosResponse(TotalCount=len(chosen), ComputeEnvCreateInfoSet=infos)

    def activities(
        self, caller: Caller, request: DescribeComputeEnvActivitiesRequest
    ) -> DescribeComputeEnvActivitiesResponse:
        node_ids = env_rules.node_filter(request.Filters)
        offset, limit = listing.page(
            request.Offset, request.Limit, ACTIVITIES_LIMIT_DEFAULT, ACTIVITIES_LIMIT_MAX
        )
        with self._db.read() as conn:
            env = find_env(conn, caller, request.EnvId)
            total, rows = envs.activities_page(conn, env.pk, node_ids, offset, limit)
        activities = [env_views.activity(r, env.env_id) for r in rows]
        return DescribeComputeEnvActivitiesResponse(ActivitySet=activities, TotalCount=total)

    # Nodes -----------------------------------------------------------------------------------------

    def terminate_nodes(self, caller: Caller, env_id: str, node_ids: list[str], action: str) -> None:
        """``action`` names the call in the activity's cause (TerminateComputeNode or ...Nodes)."""
        where = "ComputeNodeIds" if action == "TerminateComputeNodes" else "ComputeNodeId"
        env_rules.check_ids(
            node_ids, NODE_ID, where, "InvalidParameter.ComputeNodeIdMalformed", "InvalidParameterValue"
        )
        with self._db.write() as conn:
            env = find_changeable_env(conn, caller, env_id)
            found = envs.nodes_by_ids(conn, env.pk, node_ids)
            terminating = envs.pending_ids(conn, EnvChange.TERMINATE_NODES, env.pk)
            for node_id in node_ids:
                env_rules.check_terminable(found.get(node_id), node_id, env_id, terminating)
            cause = f"{action}: {', '.join(node_ids)}"
            envs.record_change(conn, env.pk, EnvChange.TERMINATE_NODES, cause, node_ids, time.time())
        self._settle()

    def attach(self, caller: Caller, env_id: str, instances: list[Instance]) -> None:
        ids = [i.InstanceId for i in instances]
        duplicated = "InvalidParameterValue.InstanceIdDuplicated"
        env_rules.check_ids(ids, INSTANCE_ID, "Instances", "InvalidParameter", duplicated)
        env_rules.check_image_ids([i.ImageId for i in instances], "Instances")
        with self._db.write() as conn:
            env = find_changeable_env(conn, caller, env_id)
            taken = set(envs.nodes_by_instance_ids(conn, ids)) | envs.pending_ids(conn, EnvChange.ATTACH)
            for instance_id in ids:
                if instance_id in taken:
                    raise ApiError(
                        "UnsupportedOperation.InstancesNotAllowToAttach",
                        f"The instance `{instance_id}` is already a compute node.",
                    )
            attached = self._attached(conn, env.pk) + len(ids)
            env_rules.check_capacity(env.desired, attached, self._node_quota)
            cause = f"AttachInstances: {', '.join(ids)}"
            envs.record_change(conn, env.pk, EnvChange.ATTACH, cause, ids, time.time())
        self._settle()

    def detach(self, caller: Caller, env_id: str, instance_ids: list[str]) -> None:
        duplicated = "InvalidParameterValue.InstanceIdDuplicated"
        env_rules.check_ids(instance_ids, INSTANCE_ID, "InstanceIds", "InvalidParameter", duplicated)
        with self._db.write() as conn:
            env = find_changeable_env(conn, caller, env_id)
            found = envs.nodes_by_instance_ids(conn, instance_ids)
            attaching = envs.pending_ids(conn, EnvChange.ATTACH, env.pk)
            leaving = envs.pending_ids(conn, EnvChange.DETACH, env.pk)
            for instance_id in instance_ids:
                node = found.get(instance_id)
                mine = node if node is not None and node.env_pk == env.pk else None
                env_rules.check_detachable(mine, instance_id, env_id, attaching, leaving)
            cause = f"DetachInstances: {', '.join(instance_ids)}"
            envs.record_change(conn, env.pk, EnvChange.DETACH, cause, instance_ids, time.time())
        self._settle()

    # Helpers ---------------------------------------------------------------------------------------

    def _new_env(
        self, caller: Caller, request: CreateComputeEnvRequest
    ) -> tuple[envs.NewEnv, list[Subscription]]:
        spec = request.ComputeEnv
        kind, wanted = env_rules.check_named_env(
            spec, self._zones, caller.region, self._instance_types, self._topics
        )
        env_rules.check_capacity(spec.DesiredComputeNodeCount, 0, self._node_quota)
        zone = placement_zone(self._zones, caller.region, request.Placement)
        check_client_token(request.ClientToken)
        env = envs.NewEnv(
            env_id=new_id("env"),
            account=caller.account,
            region=caller.region,
            zone=zone,
            name=spec.EnvName,
            description=spec.EnvDescription or "",
            env_type=spec.EnvType or "MANAGED",
            instance_type=kind,
            desired=spec.DesiredComputeNodeCount,
            action_if_inactive=spec.ActionIfComputeNodeInactive or RECREATE,
            tags=[{"Key": t.Key, "Value": t.Value} for t in spec.Tags or []],
            create_info=env_rules.create_info(request),
            client_token=request.ClientToken,
            create_time=time.time(),
        )
        return env, wanted

    @staticmethod
    def _earlier(conn: Connection, caller: Caller, token: str | None) -> Any:
        return None if token is None else envs.find_by_client_token(conn, caller.account, token)

    def _check_env_quota(self, conn: Connection, caller: Caller) -> None:
        if envs.count_envs(conn, caller.account, caller.region) >= self._env_quota:
            raise ApiError(
                "LimitExceeded.ComputeEnvQuota",
                f"At most {self._env_quota} compute environments per account and region.",
            )

    def _resize(self, conn: Connection, env: Any, desired: int) -> int:
        """Ask the scheduler to make or retire nodes until the environment holds ``desired``."""
        env_rules.check_capacity(desired, self._attached(conn, env.pk), self._node_quota)
        cause = env_rules.capacity_cause(env.desired, desired)
        envs.record_change(conn, env.pk, EnvChange.RECONCILE, cause, [], time.time())
        return desired

    @staticmethod
    def _attached(conn: Connection, env_pk: int) -> int:
        """Nodes attached to the environment, and instances about to be."""
        counts = env_views.counts_of(envs.nodes_of(conn, env_pk))
        return counts.attached + len(envs.pending_ids(conn, EnvChange.ATTACH, env_pk))

    def _selection(
        self, caller: Caller, env_ids: list[str] | None, filters: list[Filter] | None, tags: bool
    ) -> env_views.EnvPredicate:
        malformed = "InvalidParameter.EnvIdMalformed"
        listing.check_ids_xor_filters(env_ids, filters, "EnvIds", ENV_ID, malformed)
        if env_ids is not None:
            wanted = frozenset(env_ids)
            return lambda env: env.env_id in wanted
        table = env_views.VIEW_FILTERS if tags else env_views.CREATE_INFO_FILTERS
        predicates = listing.conditions(filters or [], table, env_views.tag if tags else None)
        listing.check_zone_filters(self._zones, caller.region, filters or [])
        return lambda env: all(p(env) for p in predicates)


def _replay(earlier: Any, create_info: dict[str, Any]) -> str:
    if earlier.create_info != create_info:
        raise ApiError(
            "InvalidParameterValue",
            f"ClientToken was already used for compute environment {earlier.env_id} "
            "with a different request.",
        )
    return str(earlier.env_id)


def _created_events(env: envs.NewEnv, wanted: list[Subscription]) -> list[outbox.Event]:
    batch = {"EnvId": env.env_id, "EnvName": env.name}
    return [
        outbox.Event(s.topic, s.event, env.create_time, env.region, batch, s.vars_json())
        for s in wanted
        if s.event == ENV_CREATED
    ]


def _check_type_change(conn: Connection, env: Any) -> None:
    busy = envs.nodes_of(conn, env.pk) or envs.pending_ids(conn, EnvChange.ATTACH, env.pk)
    if busy or envs.has_unfinished_tasks(conn, env.pk):
        raise ApiError(
            "UnsupportedOperation",
            f"The instance type of `{env.env_id}` changes only while it has no nodes and no unfinished "
            "tasks; set DesiredComputeNodeCount to 0 and wait for its nodes to go first.",
        )
