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
    stdout_path: str | None = None
    stderr_path: str | None = None
    stdout_name: str | None = None
    stderr_name: str | None = None
    max_retry: int = 0
    timeout: int = 86400
    failed_action: str = "TERMINATE"
    max_concurrent: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaskSpec:
        values = dict(data)
        values["env"] = tuple((str(k), str(v)) for k, v in values["env"])
        return cls(**values)
