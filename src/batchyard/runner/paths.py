"""Where one attempt's files live on a compute node's disk: two files, no folder of its own.

``<runs>/<job>/<attempt>.stdout`` and ``.stderr`` hold its logs once it has ended, and only those
that are not empty (while it runs they are in its node's workspace, ``runner.workspace``); the
job's exit journal beside them (``runner.exits``) gets the exit code.
Paths are plain strings: they are built for every launch, and pathlib costs more than the syscalls.
"""

from __future__ import annotations

import os
from typing import NamedTuple


class AttemptPaths(NamedTuple):
    job_folder: str  # <runs>/<job>
    attempt_pk: int

    @classmethod
    def of(cls, runs_dir: str | os.PathLike[str], job_id: str, attempt_pk: int) -> AttemptPaths:
        return cls(f"{os.fspath(runs_dir)}/{job_id}", attempt_pk)

    @property
    def stdout(self) -> str:
        return f"{self.job_folder}/{self.attempt_pk}.stdout"

    @property
    def stderr(self) -> str:
        return f"{self.job_folder}/{self.attempt_pk}.stderr"

    def ensure_folder(self) -> None:
        os.makedirs(self.job_folder, exist_ok=True)
