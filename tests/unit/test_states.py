"""The state machine, pair by pair, and the roll-up rule that tasks and jobs follow."""

from __future__ import annotations

import itertools

import pytest

from batchyard.domain.states import TERMINAL, TRANSITIONS, IllegalTransition, State, check_transition, roll_up

S = State
ALLOWED = {
    (S.SUBMITTED, S.PENDING),
    (S.SUBMITTED, S.RUNNABLE),
    (S.SUBMITTED, S.FAILED),
    (S.PENDING, S.RUNNABLE),
    (S.PENDING, S.FAILED),
    (S.RUNNABLE, S.STARTING),
    (S.RUNNABLE, S.FAILED),
    (S.STARTING, S.RUNNING),
    (S.STARTING, S.RUNNABLE),
    (S.STARTING, S.SUCCEED),
    (S.STARTING, S.FAILED),
    (S.STARTING, S.FAILED_INTERRUPTED),
    (S.RUNNING, S.RUNNABLE),
    (S.RUNNING, S.SUCCEED),
    (S.RUNNING, S.FAILED),
    (S.RUNNING, S.FAILED_INTERRUPTED),
    (S.FAILED, S.PENDING),
    (S.FAILED, S.RUNNABLE),
    (S.FAILED_INTERRUPTED, S.FAILED),
    (S.FAILED_INTERRUPTED, S.PENDING),
    (S.FAILED_INTERRUPTED, S.RUNNABLE),
}


@pytest.mark.parametrize(("source", "target"), list(itertools.product(State, State)))
def test_every_transition_is_allowed_exactly_when_listed(source: State, target: State) -> None:
    if (source, target) in ALLOWED:
        check_transition(source, target)
    else:
        with pytest.raises(IllegalTransition):
            check_transition(source, target)


def test_succeed_is_final() -> None:
    assert TRANSITIONS[State.SUCCEED] == frozenset()


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({S.SUCCEED: 3}, S.SUCCEED),
        ({S.SUCCEED: 2, S.FAILED: 1}, S.FAILED),
        ({S.FAILED: 1, S.FAILED_INTERRUPTED: 1}, S.FAILED_INTERRUPTED),
        ({S.FAILED: 1, S.RUNNING: 1}, S.RUNNING),
        ({S.RUNNABLE: 5, S.STARTING: 1}, S.STARTING),
        ({S.PENDING: 2, S.SUCCEED: 1}, S.PENDING),
        ({S.SUBMITTED: 1}, S.SUBMITTED),
        ({S.RUNNING: 0, S.SUCCEED: 1}, S.SUCCEED),
    ],
)
def test_roll_up_shows_most_advanced_active_state_until_all_are_terminal(
    counts: dict[State, int], expected: State
) -> None:
    assert roll_up(counts) is expected


def test_terminal_states() -> None:
    assert {S.SUCCEED, S.FAILED, S.FAILED_INTERRUPTED} == TERMINAL
