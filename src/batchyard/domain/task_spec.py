"""What a task runs, normalised once at submit and stored with the task (immutable afterwards)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class TaskSpec:
    command: str
    env: tuple[tuple[str, str], ...]
    instance_type: str
    cpu: int
    memory_gib: int
    gpu: int = 0
    stdout_path: str | None = None
    stderr_path: str | None = None
    stdout_name: str | None = None
    stderr_name: str | None = None
    # RedirectLocalInfo: the folder inside the node where each log can also be read while the command
    # runs, and its file name template (None: the default name); since #8
    stdout_local_path: str | None = None
    stderr_local_path: str | None = None
    stdout_local_name: str | None = None
    stderr_local_name: str | None = None
    max_retry: int = 0
    timeout: int = 86400
    failed_action: str = "TERMINATE"
    max_concurrent: int | None = None
    inputs: tuple[tuple[str, str], ...] = ()  # InputMappings: (remote source, local destination)
    outputs: tuple[tuple[str, str], ...] = ()  # OutputMappings: (local source, remote destination)
    package: str | None = None  # Application.PackagePath of a PACKAGE task

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaskSpec:
        values = dict(data)
        for pairs in ("env", "inputs", "outputs"):  # env is in every stored spec; mappings since #8
            if pairs in values or pairs == "env":
                values[pairs] = tuple((str(a), str(b)) for a, b in values[pairs])
        return cls(**values)


UNREADABLE = TaskSpec(command="", env=(), instance_type="", cpu=0, memory_gib=0)
"""Stands in for a stored spec that cannot be read, so that one damaged row fails only its own task."""


def stored_spec(data: Any) -> TaskSpec | None:
    """A task's spec as stored, or None if the row is damaged (an older format, a bad disk)."""
    try:
        spec = TaskSpec.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return spec if isinstance(spec.command, str) and isinstance(spec.cpu, int) else None
