"""Where one attempt lives on a compute node's disk.

The launch wrapper writes ``pid`` first and ``exit`` last, so after a restart the server can tell
an attempt that never started, one still running and one that finished while it was away.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AttemptPaths:
    root: Path

    @classmethod
    def of(cls, runs_dir: Path, job_id: str, attempt_pk: int) -> AttemptPaths:
        return cls(runs_dir / job_id / str(attempt_pk))

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def stdout(self) -> Path:
        return self.root / "stdout"

    @property
    def stderr(self) -> Path:
        return self.root / "stderr"

    @property
    def pid(self) -> Path:
        return self.root / "pid"

    @property
    def exit(self) -> Path:
        return self.root / "exit"

    def read_exit_code(self) -> int | None:
        try:
            return int(self.exit.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def read_pid(self) -> int | None:
        try:
            return int(self.pid.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
