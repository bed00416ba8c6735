"""The one state machine of batchyard: instance states, legal moves, and how tasks and jobs roll up.

Tasks and jobs never carry a state of their own making: they are a function of their children's
counts, computed by ``roll_up``. Keeping that rule here, as data, means the store, the scheduler and
the API cannot disagree about what "the job is running" means.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class State(StrEnum):
    SUBMITTED = "SUBMITTED"
    PENDING = "PENDING"
    RUNNABLE = "RUNNABLE"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    SUCCEED = "SUCCEED"
    FAILED = "FAILED"
    FAILED_INTERRUPTED = "FAILED_INTERRUPTED"


# Finished for the purpose of roll-up and dependencies. FAILED_INTERRUPTED still holds its node,
# but it will not run again unless retried by the user.
TERMINAL: frozenset[State] = frozenset({State.SUCCEED, State.FAILED, State.FAILED_INTERRUPTED})
# Ended without success: what a failed job's reason names and what RetryJobs runs again.
FAILED_STATES: frozenset[State] = frozenset({State.FAILED, State.FAILED_INTERRUPTED})

# ActiveAttempt states from least to most advanced; a task shows the most advanced state among its
# unfinished children.
ACTIVE_ORDER: tuple[State, ...] = (
    State.SUBMITTED,
    State.PENDING,
    State.RUNNABLE,
    State.STARTING,
    State.RUNNING,
)

# Allowed instance transitions. RUNNABLE again after STARTING/RUNNING is a retry or a lost node;
# PENDING/RUNNABLE after FAILED is RetryJobs.
TRANSITIONS: Mapping[State, frozenset[State]] = {
    State.SUBMITTED: frozenset({State.PENDING, State.RUNNABLE, State.FAILED}),
    State.PENDING: frozenset({State.RUNNABLE, State.FAILED}),
    State.RUNNABLE: frozenset({State.STARTING, State.FAILED}),
    State.STARTING: frozenset(
        {State.RUNNING, State.RUNNABLE, State.SUCCEED, State.FAILED, State.FAILED_INTERRUPTED}
    ),
    State.RUNNING: frozenset({State.RUNNABLE, State.SUCCEED, State.FAILED, State.FAILED_INTERRUPTED}),
    State.SUCCEED: frozenset(),
    State.FAILED: frozenset({State.PENDING, State.RUNNABLE}),
    State.FAILED_INTERRUPTED: frozenset({State.FAILED, State.PENDING, State.RUNNABLE}),
}

# Wire names of the per-state counters in TaskMetrics / TaskInstanceMetrics.
METRIC_FIELDS: Mapping[State, str] = {
    State.SUBMITTED: "SubmittedCount",
    State.PENDING: "PendingCount",
    State.RUNNABLE: "RunnableCount",
    State.STARTING: "StartingCount",
    State.RUNNING: "RunningCount",
    State.SUCCEED: "SucceedCount",
    State.FAILED_INTERRUPTED: "FailedInterruptedCount",
    State.FAILED: "FailedCount",
}


class IllegalTransition(Exception):
    """Raised when code asks for a move the state machine does not allow: always a bug."""


def check_transition(source: State, target: State) -> None:
    if target not in TRANSITIONS[source]:
        raise IllegalTransition(f"{source} -> {target}")


def roll_up(counts: Mapping[State, int]) -> State:
    """The state of a parent from its children's counts.

    Unfinished while any child is active (showing the most advanced active state); once all are
    terminal: SUCCEED if all succeeded, FAILED_INTERRUPTED if any was interrupted, else FAILED.
    A parent with no children (never the case for a valid job) counts as SUCCEED.
    """
    for state in reversed(ACTIVE_ORDER):
        if counts.get(state, 0) > 0:
            return state
    if counts.get(State.FAILED_INTERRUPTED, 0) > 0:
        return State.FAILED_INTERRUPTED
    if counts.get(State.FAILED, 0) > 0:
        return State.FAILED
    return State.SUCCEED
