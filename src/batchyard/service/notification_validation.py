"""Checks on ``Job.Notifications`` and ``ComputeEnv.Notifications``, so a user learns of a malformed
one with its documented code, and the subscriptions a valid one stands for.

A topic is a name the server's configuration maps to a sink (``[notifications.topics]``). A topic the
server does not know is refused with ``InvalidParameter.NotificationTopicName`` rather than accepted:
its events would have nowhere to go, and the user would wait for messages that never come.
"""

from __future__ import annotations

from collections.abc import Collection

from batchyard.domain.errors import ApiError
from batchyard.domain.notifications import JOB_EVENTS, TOPIC_NAME, TOPIC_NAME_MAX, Subscription
from batchyard.schema.common import Notification


def check_notifications(
    notifications: list[Notification],
    topics: Collection[str],
    where: str = "Job.Notifications",
    events: frozenset[str] = JOB_EVENTS,
) -> list[Subscription]:
    """``topics``: the topics this server delivers to. Returns one subscription per event and topic."""
    wanted: list[Subscription] = []
    for i, notification in enumerate(notifications):
        _check_notification(notification, f"{where}.{i}", events)
        _check_configured(notification.TopicName, f"{where}.{i}", topics)
        wanted.extend(_subscriptions(notification))
    return wanted


def _subscriptions(notification: Notification) -> list[Subscription]:
    return [
        Subscription(
            notification.TopicName, config.EventName, tuple((v.Name, v.Value) for v in config.EventVars)
        )
        for config in notification.EventConfigs
    ]


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
    if not TOPIC_NAME.fullmatch(name):
        raise ApiError(
            "InvalidParameter.NotificationTopicName",
            f"`{where}.TopicName` must start with a letter and hold only letters, digits, '_' and '-'.",
        )


def _check_configured(name: str, where: str, topics: Collection[str]) -> None:
    if name not in topics:
        raise ApiError(
            "InvalidParameter.NotificationTopicName",
            f"`{where}.TopicName` `{name}` is not a topic of this server: its administrator maps topic "
            "names to webhook URLs under [notifications.topics] in the server's configuration file.",
        )
