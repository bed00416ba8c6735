"""Why a waiting task instance waits: every reason and its words, in one table.

The scheduler decides which reason holds for a waiting task once per task, from what its tick
already knows (queue position, capacity, concurrency counts), never once per instance, so a task of
100,000 instances costs no more to explain than a task of one. Numbers "ahead of this task" count
other tasks' instances queued before it, so the words stay true for each of the task's own instances.
The table is the one place the wording lives: docs/semantics.md lists it, and tests read it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

from batchyard.domain.dependencies import DEFAULT_DEPEND_ON


class Wait(StrEnum):
    # PENDING: predecessors unfinished, one reason per TaskExecutionDependOn condition.
    PRE_TASK_SUCCEED = "PRE_TASK_SUCCEED"
    PRE_TASK_AT_LEAST_PARTLY_SUCCEED = "PRE_TASK_AT_LEAST_PARTLY_SUCCEED"
    PRE_TASK_FINISHED = "PRE_TASK_FINISHED"
    # RUNNABLE.
    MAX_CONCURRENT = "MAX_CONCURRENT"
    BEHIND_JOB = "BEHIND_JOB"
    NO_FREE_NODE = "NO_FREE_NODE"
    NODES_BEING_MADE = "NODES_BEING_MADE"
    NODES_FAILED = "NODES_FAILED"
    NO_NODE = "NO_NODE"
    NO_ROOM = "NO_ROOM"
    BEHIND_TASK = "BEHIND_TASK"
    NO_HOST = "NO_HOST"
    ENV_QUEUE_TAIL = "ENV_QUEUE_TAIL"
    HOSTS_QUEUE_TAIL = "HOSTS_QUEUE_TAIL"


WORDING: Mapping[Wait, str] = {
    Wait.PRE_TASK_SUCCEED: "waiting for {tasks} to finish (PRE_TASK_SUCCEED: every predecessor must succeed)",
    Wait.PRE_TASK_AT_LEAST_PARTLY_SUCCEED: (
        "waiting for {tasks} to finish "
        "(PRE_TASK_AT_LEAST_PARTLY_SUCCEED: every predecessor needs an instance that succeeded)"
    ),
    Wait.PRE_TASK_FINISHED: "waiting for {tasks} to finish (PRE_TASK_FINISHED)",
    Wait.MAX_CONCURRENT: "the task's MaxConcurrentNum ({limit}) is reached",
    Wait.BEHIND_JOB: (
        "waiting behind higher-priority job {job} (priority {theirs} over {ours}, "
        "{ahead} queued ahead of this task)"
    ),
    Wait.NO_FREE_NODE: (
        "no free compute node in {env} ({busy} of {nodes} busy, {ahead} queued ahead of this task)"
    ),
    Wait.NODES_BEING_MADE: (
        "no compute node of {env} is ready yet ({making} being made, {ahead} queued ahead of this task)"
    ),
    Wait.NODES_FAILED: "{env} has no compute node in service ({failed} could not be made)",
    Wait.NO_NODE: "{env} has no compute node in service",
    Wait.NO_ROOM: (
        "waiting for room on a host: a node of {type} needs {demand}; the most free on one host is {free}"
    ),
    Wait.BEHIND_TASK: (
        'waiting behind task "{task}" of {job}, which waits for room on a host first '
        "({ahead} queued ahead of this task)"
    ),
    Wait.NO_HOST: "no host can hold instance type {type} (needs {demand}; the largest host has {largest})",
    Wait.ENV_QUEUE_TAIL: "queued in {env} behind {tasks} earlier waiting tasks ({ahead} or more ahead)",
    Wait.HOSTS_QUEUE_TAIL: (
        "queued for room on a host behind {tasks} earlier waiting tasks ({ahead} or more ahead)"
    ),
}

# Predecessors named in a PENDING reason before the rest are only counted.
NAMED_PREDECESSORS = 3


def say(wait: Wait, **facts: object) -> str:
    """The words for a reason; a count of instances (``ahead``) is spelt with its noun."""
    ahead = facts.get("ahead")
    if isinstance(ahead, int):
        facts["ahead"] = instances(ahead)
    return WORDING[wait].format(**facts)


def instances(count: int) -> str:
    return f"{count} instance" if count == 1 else f"{count} instances"


def predecessors_unfinished(depend_on: str, names: Sequence[str]) -> str:
    """A PENDING task's reason: the predecessors it still waits for, under its job's condition."""
    return say(Wait(depend_on or DEFAULT_DEPEND_ON), tasks=_task_names(names))


def _task_names(names: Sequence[str]) -> str:
    quoted = [f'"{name}"' for name in names[:NAMED_PREDECESSORS]]
    rest = len(names) - len(quoted)
    if rest > 0:
        return f"tasks {', '.join(quoted)} and {rest} more"
    if len(quoted) == 1:
        return f"task {quoted[0]}"
    return f"tasks {', '.join(quoted[:-1])} and {quoted[-1]}"
