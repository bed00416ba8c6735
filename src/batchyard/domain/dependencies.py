"""When a task may start, given its predecessors: the three ``TaskExecutionDependOn`` conditions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from batchyard.domain.states import TERMINAL, State

DEFAULT_DEPEND_ON = "PRE_TASK_SUCCEED"


@dataclass(frozen=True)
class Predecessor:
    name: str
    state: State
    succeeded: int  # instances that succeeded


Condition = Callable[[Predecessor], bool]

# A predecessor satisfies the condition once it is terminal and ...
CONDITIONS: dict[str, Condition] = {
    "PRE_TASK_SUCCEED": lambda p: p.state is State.SUCCEED,
    "PRE_TASK_AT_LEAST_PARTLY_SUCCEED": lambda p: p.succeeded > 0,
    "PRE_TASK_FINISHED": lambda p: True,
}


def blocking(predecessors: Sequence[Predecessor], depend_on: str) -> tuple[bool, Predecessor | None]:
    """(ready, culprit): not ready while a predecessor is unfinished; culprit failed the condition."""
    if any(p.state not in TERMINAL for p in predecessors):
        return False, None
    condition = CONDITIONS[depend_on]
    culprit = next((p for p in predecessors if not condition(p)), None)
    return True, culprit
