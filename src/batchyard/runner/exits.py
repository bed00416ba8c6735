"""Each job's exit journal: a line ``<attempt pk> <exit code> <slot folder>`` per attempt that ended,
appended by the attempt's wrapper from its EXIT trap (one ``write``, so lines never interleave).

Only a restarting server reads it: the running server learns exit codes by waiting for its children,
but an attempt that ended while no server was there left its code nowhere else. Appending to one
file per job costs a wrapper far less than creating a file per attempt, which for short commands
was a large share of the kernel's work.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

log = logging.getLogger(__name__)

JOURNAL = "exits"


def journal_path(job_folder: str) -> str:
    return f"{job_folder}/{JOURNAL}"


@dataclass(frozen=True)
class Exit:
    code: int
    workdir: str  # the slot the attempt ran in, which holds its logs until they are kept


class ExitJournals:
    """Exit codes of re-attached attempts, read from each job's journal from where the last read ended.

    Only the attempts it was told to ``expect`` are kept, so a journal of 100,000 lines costs a
    single pass and no memory per line.
    """

    def __init__(self) -> None:
        self._offsets: dict[str, int] = {}
        self._expected: set[int] = set()
        self._exits: dict[int, Exit] = {}

    def expect(self, attempt_pk: int) -> None:
        self._expected.add(attempt_pk)

    def exit(self, job_folder: str, attempt_pk: int) -> Exit | None:
        """How the attempt ended, or None if it has not ended or ended without recording it."""
        if attempt_pk not in self._exits:
            self._read_new_lines(journal_path(job_folder))
        found = self._exits.pop(attempt_pk, None)
        if found is not None:
            self._expected.discard(attempt_pk)
        return found

    def _read_new_lines(self, path: str) -> None:
        try:
            with open(path, "rb") as f:
                f.seek(self._offsets.get(path, 0))
                data = f.read()
        except FileNotFoundError:
            return  # no attempt of the job has ended yet
        except OSError as exc:  # unreadable: the attempts concerned are then counted as lost
            log.warning("exit journal %s could not be read: %s", path, exc)
            return
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written is read next time
        self._offsets[path] = self._offsets.get(path, 0) + len(complete)
        for line in complete.splitlines():
            words = line.split(b" ", 2)
            if len(words) == 3 and words[0].isdigit() and words[1].lstrip(b"-").isdigit():
                pk = int(words[0])
                if pk in self._expected:
                    self._exits[pk] = Exit(int(words[1]), os.fsdecode(words[2]))
