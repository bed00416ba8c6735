"""Notifications: the events a job or an environment may subscribe to, and the message that tells one.

One table of names serves validation (which action may subscribe to what), the scheduler (which
state change is which event) and the delivery (the documented message, one event per message).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from batchyard.domain.nodes import NodeState
from batchyard.domain.states import State
from batchyard.domain.times import iso

TOPIC_NAME_MAX: Final = 64
TOPIC_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
EVENT_VERSION: Final = "1.0"

# States whose arrival is an event of jobs, tasks and instances; and of compute nodes.
EVENT_STATES: Final = frozenset({State.RUNNING, State.SUCCEED, State.FAILED, State.FAILED_INTERRUPTED})
NODE_EVENT_STATES: Final = (
    NodeState.CREATED,
    NodeState.CREATION_FAILED,
    NodeState.RUNNING,
    NodeState.ABNORMAL,
    NodeState.DELETING,
)
ENV_CREATED: Final = "COMPUTE_ENV_CREATED"
ENV_DELETED: Final = "COMPUTE_ENV_DELETED"


def job_event(state: State) -> str:
    return f"JOB_{state.value}"


def task_event(state: State) -> str:
    return f"TASK_{state.value}"


def instance_event(state: State) -> str:
    return f"TASK_INSTANCE_{state.value}"


def node_event(state: NodeState) -> str:
    return f"COMPUTE_NODE_{state.value}"


_NODE_EVENTS: Final = [node_event(s) for s in NODE_EVENT_STATES]
_STATES: Final = sorted(EVENT_STATES)
# What each action may subscribe to (the ``EventConfig`` model says which action each suits).
JOB_EVENTS: Final = frozenset(
    [f(s) for f in (job_event, task_event, instance_event) for s in _STATES] + _NODE_EVENTS
)
ENV_EVENTS: Final = frozenset([ENV_CREATED, ENV_DELETED, *_NODE_EVENTS])


@dataclass(frozen=True)
class Subscription:
    """One event a job or an environment wants told to one topic, with the variables to echo."""

    topic: str
    event: str
    event_vars: tuple[tuple[str, str], ...] = ()

    def vars_json(self) -> list[dict[str, str]]:
        return [{"Name": name, "Value": value} for name, value in self.event_vars]


def message(
    event: str, event_time: float, region: str, batch: dict[str, Any], event_vars: list[Any]
) -> dict[str, Any]:
    """The documented message: one event, as the example of Tencent's notification page shows it."""
    return {
        "Events": [
            {
                "EventVersion": EVENT_VERSION,
                "EventTime": iso(event_time),
                "Region": region,
                "Batch": batch,
                "EventName": event,
                "EventVars": event_vars,
            }
        ]
    }
