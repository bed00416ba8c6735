"""Where one attempt lives on a compute node's disk.

The launch wrapper writes ``pid`` first and ``exit`` last, so after a restart the server can tell
an attempt that never started, one still running and one that finished while it was away. Paths
are plain strings: they are built for every launch, and pathlib costs more than the syscalls.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class AttemptPaths:
    root: str

    @classmethod
    def of(cls, runs_dir: str | os.PathLike[str], job_id: str, attempt_pk: int) -> AttemptPaths:
        return cls(f"{os.fspath(runs_dir)}/{job_id}/{attempt_pk}")

    @property
    def work(self) -> str:
        return self.root + "/work"

    @property
    def stdout(self) -> str:
        return self.root + "/stdout"

    @property
    def stderr(self) -> str:
        return self.root + "/stderr"

    @property
    def pid(self) -> str:
        return self.root + "/pid"

    @property
    def exit(self) -> str:
        return self.root + "/exit"

    def make(self) -> None:
        """Create the attempt's folders (the job's folder too, for its first attempt)."""
        try:
            os.mkdir(self.root)
        except FileNotFoundError:
            os.makedirs(self.root)
        os.mkdir(self.work)

    def read_exit_code(self) -> int | None:
        return _read_int(self.exit)

    def read_pid(self) -> int | None:
        return _read_int(self.pid)


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (FileNotFoundError, ValueError):
        return None
