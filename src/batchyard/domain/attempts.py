"""What the scheduler hands an executor for one attempt, and how an attempt that did not succeed failed.

Shared by the scheduler, every executor and the runner, so it lives below all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple


@dataclass(frozen=True)
class Redirect:
    """Where an attempt's log goes once it ends (a ``cos://`` URL), or nowhere; and the absolute path
    inside the sandbox where the command can read it while it runs (RedirectLocalInfo), or none."""

    stdout: str | None
    stderr: str | None
    stdout_local: str | None = None
    stderr_local: str | None = None


@dataclass(frozen=True)
class DataPlan:
    """What an attempt moves around its command: remote sources copied to local folders before it
    runs, a package unpacked into its working folder, local results copied to remote folders after it
    (also after a failure: users debug from them). Local paths are relative to the working folder, or
    absolute ones, which exist only inside a sandbox."""

    inputs: tuple[tuple[str, str], ...] = ()  # (remote file or prefix, local folder)
    outputs: tuple[tuple[str, str], ...] = ()  # (local file or folder, remote folder)
    package: str | None = None  # remote .tgz, .tar.gz or .zip

    @property
    def empty(self) -> bool:
        return not (self.inputs or self.outputs or self.package)

    @property
    def fetches(self) -> bool:
        """Whether anything is fetched before the command: what a node can stage ahead of it."""
        return bool(self.inputs or self.package)


NO_DATA = DataPlan()


@dataclass(frozen=True)
class Bind:
    """A host folder the attempt's sandbox mounts at ``target`` (an absolute path inside it).

    Here, not in ``runner.sandbox`` (which re-exports it), because ``AttemptSpec`` carries them and
    the domain imports nothing of ours. A writable bind's folder is handed to the task user."""

    source: str
    target: str
    writable: bool


@dataclass(frozen=True)
class AttemptSpec:
    """Everything needed to run one attempt of one task instance on its node, fixed at dispatch."""

    attempt_pk: int
    node_id: str
    job_id: str
    task_name: str
    index: int
    instance_num: int
    command: str
    env: tuple[tuple[str, str], ...]
    redirect: Redirect
    data: DataPlan = NO_DATA
    binds: tuple[Bind, ...] = ()  # mounted by the sandbox, after the working folder


class Failure(StrEnum):
    """Who is to blame for an attempt that did not succeed: retry policy reads this."""

    NONE = "NONE"  # succeeded
    USER = "USER"  # the command exited non-zero or was killed for its own reasons
    SYSTEM = "SYSTEM"  # staging, upload or the node failed; the command may never have run
    # The attempt cannot run as stored (bytes the OS refuses, a log path the store refuses): the
    # system's fault, but one that no retry can fix, so the instance fails at once.
    UNRUNNABLE = "UNRUNNABLE"


class LogRef(NamedTuple):
    """Enough for an executor to find one attempt's logs, running or ended."""

    job_id: str
    attempt_pk: int
    node_id: str | None


@dataclass(frozen=True)
class Usage:
    """What a running attempt used at one moment, as percentages of its node's instance type, for
    DescribeJobMonitorData. None where the executor cannot tell (the CPU share of an attempt it has
    not looked at before: a share needs two looks)."""

    attempt_pk: int
    at: float
    cpu_percent: float | None
    memory_percent: float | None
    disk_percent: float | None  # of the fullest disk the attempt's node writes to
