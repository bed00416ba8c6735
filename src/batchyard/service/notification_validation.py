"""Checks on ``Job.Notifications``, so a user learns of a malformed one with its documented code.

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
JOB_EVENTS: Final = frozenset(
    [f"{scope}_{state}" for scope in ("JOB", "TASK", "TASK_INSTANCE") for state in _STATES]
    + [f"COMPUTE_NODE_{s}" for s in ("CREATED", "CREATION_FAILED", "RUNNING", "ABNORMAL", "DELETING")]
)


def check_notifications(notifications: list[Notification]) -> None:
    for i, notification in enumerate(notifications):
        where = f"Job.Notifications.{i}"
        _check_topic(notification.TopicName, where)
        seen: set[str] = set()
        for j, config in enumerate(notification.EventConfigs):
            name = config.EventName
            if name not in JOB_EVENTS:
                raise ApiError(
                    "InvalidParameterValue", f"`{where}.EventConfigs.{j}.EventName` `{name}` is unknown."
                )
            if name in seen:
                raise ApiError(
                    "InvalidParameter.NotificationEventNameDuplicate", f"`{where}` lists {name} twice."
                )
            seen.add(name)
    if notifications:
        raise ApiError("InvalidParameterValue", "Job.Notifications is not supported by this server yet.")


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
