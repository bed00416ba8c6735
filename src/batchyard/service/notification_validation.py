"""Checks on ``Job.Notifications`` and ``ComputeEnv.Notifications``, so a user learns of a malformed
one with its documented code.

Delivery (CMQ / TDMQ topics) is not implemented, so even a valid configuration is then refused
rather than accepted and never delivered.
"""

from __future__ import annotations

import re
from typing import Final

from batchyard.domain.errors import ApiError
from batchyard.schema.common import Notification

TOPIC_NAME_MAX: Final = 64
_TOPIC_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_STATES: Final = ("RUNNING", "SUCCEED", "FAILED", "FAILED_INTERRUPTED")
_NODE_EVENTS: Final = [
    f"COMPUTE_NODE_{s}" for s in ("CREATED", "CREATION_FAILED", "RUNNING", "ABNORMAL", "DELETING")
]
# The events each action may subscribe to (the ``EventConfig`` model says which action each suits).
JOB_EVENTS: Final = frozenset(
    [f"{scope}_{state}" for scope in ("JOB", "TASK", "TASK_INSTANCE") for state in _STATES] + _NODE_EVENTS
)
ENV_EVENTS: Final = frozenset(["COMPUTE_ENV_CREATED", "COMPUTE_ENV_DELETED", *_NODE_EVENTS])


def check_notifications(
    notifications: list[Notification], where: str = "Job.Notifications", events: frozenset[str] = JOB_EVENTS
) -> None:
    for i, notification in enumerate(notifications):
        _check_notification(notification, f"{where}.{i}", events)
    if notifications:
        raise ApiError("InvalidParameterValue", f"{where} is not supported by this server yet.")


def _check_notification(notification: Notification, where: str, events: frozenset[str]) -> None:
    _check_topic(notification.TopicName, where)
    seen: set[str] = set()
    for j, config in enumerate(notification.EventConfigs):
        name = config.EventName
        if name not in events:
            raise ApiError(
                "InvalidParameterValue", f"`{where}.EventConfigs.{j}.EventName` `{name}` is unknown here."
            )
        if name in seen:
            raise ApiError(
                "InvalidParameter.NotificationEventNameDuplicate", f"`{where}` lists {name} twice."
            )
        seen.add(name)


def _check_topic(name: str, where: str) -> None:
    if len(name) > TOPIC_NAME_MAX:
        raise ApiError(
            "InvalidParameter.NotificationTopicNameTooLong",
            f"`{where}.TopicName` must be at most {TOPIC_NAME_MAX} characters.",
        )
    if not _TOPIC_NAME.fullmatch(name):
        raise ApiError(
            "InvalidParameter.NotificationTopicName",
            f"`{where}.TopicName` must start with a letter and hold only letters, digits, '_' and '-'.",
        )
