"""Carrying out what users asked of named compute environments, and keeping each at its size.

The API records each change (``EnvChange``) and the scheduler makes it, in order: nodes made or
retired with an activity that says why, attached and detached instances, terminated nodes replaced
unless the desired count was lowered, and an environment being deleted removed once its last node
is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from batchyard.domain.attempts import Failure
from batchyard.domain.nodes import ActivityType, EnvChange, NodeState, Origin
from batchyard.domain.resources import Resources
from batchyard.scheduler import nodes
from batchyard.scheduler.intents import cancel
from batchyard.scheduler.tick import Tick
from batchyard.store import nodes as node_store

DELETED_CAUSE = "DeleteComputeEnv"


class Environments:
    """What the scheduler remembers of named environments between ticks: those being deleted."""

    def __init__(self, catalog: Mapping[str, Resources]) -> None:
        self.catalog = catalog
        self.deleting: set[int] = set()

    def recover(self, deleting: Iterable[int]) -> None:
        self.deleting.update(deleting)

    def carry_out(self, tick: Tick) -> None:
        """Apply the API's recorded changes, then mend environments that lost nodes this tick."""
        changes = node_store.pending_env_intents(tick.conn)
        envs = node_store.env_rows(tick.conn, {c.env_pk for c in changes} | tick.envs)
        for change in changes:
            env = envs.get(change.env_pk)
            if env is not None:
                _CHANGES[EnvChange(change.kind)](self, tick, env, change)
        node_store.delete_env_intents(tick.conn, [c.pk for c in changes])
        for env_pk in tick.envs - {c.env_pk for c in changes}:
            if env_pk in envs:
                self.reconcile(tick, envs[env_pk], "Replace a lost compute node")
        tick.envs.clear()

    def finish_deletions(self, tick: Tick) -> None:
        """An environment being deleted goes once its last node has."""
        done = [pk for pk in self.deleting if not tick.fleet.of_env(pk)]
        tick.notices.envs_gone(done)
        node_store.delete_envs(tick.conn, done)
        self.deleting.difference_update(done)

    def reconcile(self, tick: Tick, env: Any, cause: str) -> None:
        nodes.reconcile(tick, env, self.catalog.get(env.instance_type), cause)

    def _reconcile(self, tick: Tick, env: Any, change: Any) -> None:
        self.reconcile(tick, env, change.cause)

    def _terminate(self, tick: Tick, env: Any, change: Any) -> None:
        """A busy node's attempt is killed and retried elsewhere as a system fault, not the user's."""
        for node_id in change.ids:
            node = tick.fleet.get(node_id)
            if node is None or node.env_pk != env.pk or node.state is NodeState.DELETING:
                continue
            actives = [a for a in map(tick.ledger.get, node.queue) if a is not None]
            reason = f"The compute node {node_id} was terminated ({change.cause})."
            cancel(tick, actives, reason, retry=True, blame=Failure.SYSTEM)
            nodes.retire(tick, node, ActivityType.TERMINATE, change.cause)
        self.reconcile(tick, env, f"{change.cause}: replace the terminated compute nodes")

    def _attach(self, tick: Tick, env: Any, change: Any) -> None:
        resources = self.catalog.get(env.instance_type)
        for instance_id in change.ids:
            nodes.make_in_env(
                tick, env, resources, ActivityType.ATTACH, change.cause, Origin.USER_ATTACHED, instance_id
            )

    def _detach(self, tick: Tick, env: Any, change: Any) -> None:
        wanted = set(change.ids)
        for node in tick.fleet.of_env(env.pk):
            if node.instance_id in wanted and node.origin is Origin.USER_ATTACHED:
                nodes.retire(tick, node, ActivityType.DETACH, change.cause)

    def _delete(self, tick: Tick, env: Any, change: Any) -> None:
        self.deleting.add(env.pk)
        self.reconcile(tick, env, change.cause or DELETED_CAUSE)


_CHANGES: dict[EnvChange, Callable[[Environments, Tick, Any, Any], None]] = {
    EnvChange.RECONCILE: Environments._reconcile,
    EnvChange.TERMINATE_NODES: Environments._terminate,
    EnvChange.ATTACH: Environments._attach,
    EnvChange.DETACH: Environments._detach,
    EnvChange.DELETE: Environments._delete,
}
