"""Where one attempt's files live on a compute node's disk: three files, no folder of its own.

``<runs>/<job>/<attempt>.stdout`` and ``.stderr`` hold the logs; ``.state`` gets the wrapper's
pid as its first line and the command's exit code as its second, so after a restart the server can
tell an attempt that never started, one still running and one that finished while it was away.
Paths are plain strings: they are built for every launch, and pathlib costs more than the syscalls.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class AttemptPaths:
    prefix: str  # <runs>/<job>/<attempt>

    @classmethod
    def of(cls, runs_dir: str | os.PathLike[str], job_id: str, attempt_pk: int) -> AttemptPaths:
        return cls(f"{os.fspath(runs_dir)}/{job_id}/{attempt_pk}")

    @property
    def stdout(self) -> str:
        return self.prefix + ".stdout"

    @property
    def stderr(self) -> str:
        return self.prefix + ".stderr"

    @property
    def state(self) -> str:
        return self.prefix + ".state"

    def ensure_folder(self) -> None:
        os.makedirs(os.path.dirname(self.prefix), exist_ok=True)

    def read_state(self) -> tuple[int | None, int | None]:
        """(pid, exit code) as far as the wrapper got to write them."""
        try:
            with open(self.state) as f:
                words = f.read().split()
        except FileNotFoundError:
            return None, None
        values = [_to_int(w) for w in words[:2]]
        return (values[0] if values else None), (values[1] if len(values) > 1 else None)


def _to_int(word: str) -> int | None:
    try:
        return int(word)
    except ValueError:
        return None
