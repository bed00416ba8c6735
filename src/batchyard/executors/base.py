"""The boundary between the scheduler and whatever runs attempts (local processes, Slurm, Ray).

The scheduler commits an attempt as STARTING before it calls ``launch``, and learns everything
else from events. An executor never touches the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple, Protocol


@dataclass(frozen=True)
class Resources:
    cpu: int
    memory_gib: int

    def fits(self, demand: Resources) -> bool:
        return demand.cpu <= self.cpu and demand.memory_gib <= self.memory_gib

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu + other.cpu, self.memory_gib + other.memory_gib)

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.cpu - other.cpu, self.memory_gib - other.memory_gib)


@dataclass(frozen=True)
class Redirect:
    """Where an attempt's log goes once it ends (a ``cos://`` URL), or nowhere."""

    stdout: str | None
    stderr: str | None


@dataclass(frozen=True)
class AttemptSpec:
    """Everything needed to run one attempt of one task instance, fixed when it is launched."""

    attempt_pk: int
    job_id: str
    task_name: str
    index: int
    instance_num: int
    command: str
    env: tuple[tuple[str, str], ...]
    redirect: Redirect
    demand: Resources
    # Dispatch order (priority first): an executor that queues attempts starts the lowest rank first.
    rank: tuple[int, int, int, int] = (0, 0, 0, 0)


class Failure(StrEnum):
    """Who is to blame for an attempt that did not succeed: retry policy reads this."""

    NONE = "NONE"  # succeeded
    USER = "USER"  # the command exited non-zero or was killed for its own reasons
    SYSTEM = "SYSTEM"  # staging, upload or the node failed; the command may never have run
    # The attempt cannot run as stored (bytes the OS refuses, a log path the store refuses): the
    # system's fault, but one that no retry can fix, so the instance fails at once.
    UNRUNNABLE = "UNRUNNABLE"


# Events are named tuples: executors make two per attempt, on the path that starts the next one.
class AttemptStarted(NamedTuple):
    attempt_pk: int
    at: float


class AttemptFinished(NamedTuple):
    attempt_pk: int
    at: float
    exit_code: int | None
    failure: Failure
    reason: str


AttemptEvent = AttemptStarted | AttemptFinished
EventSink = Callable[[AttemptEvent], None]


class Executor(Protocol):
    def capacity(self) -> Resources:
        """What may run at once."""

    def backlog(self) -> Resources:
        """How much more the executor accepts beyond ``capacity``, to start as soon as room frees."""

    async def start(self, sink: EventSink) -> None:
        """Begin delivering events to ``sink`` (called on the event loop)."""

    def launch(self, attempts: Sequence[AttemptSpec]) -> None:
        """Start these attempts. At most once per ``attempt_pk``: a repeat is ignored."""

    def cancel(self, attempt_pks: Sequence[int]) -> None:
        """Kill these attempts (the whole process tree, politely then firmly); unknown ones are ignored.

        Each still ends with an ``AttemptFinished`` event.
        """

    def reattach(self, attempts: Sequence[AttemptSpec]) -> None:
        """Resume watching attempts launched before a restart, recording those that ended meanwhile.

        An attempt whose command never started is launched (once); one that started and left no
        outcome ends as a SYSTEM failure.
        """

    def release(self, attempt_pks: Sequence[int]) -> None:
        """The store has recorded these attempts' ends: what the executor kept for them may be reused."""

    def live_logs(self, attempt_pk: int) -> tuple[str, str] | None:
        """The local files a running attempt writes its stdout and stderr to, if it is running here."""

    async def stop(self) -> None:
        """Stop watching. Running attempts keep running and are re-attached on the next start."""
