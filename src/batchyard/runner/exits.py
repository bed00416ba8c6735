"""Each job's journal, appended by the attempts' wrappers (``runner.wrapper``): ``S <attempt pk> <pid>``
when an attempt begins, before its command can start, and ``<attempt pk> <exit code> <pid> <workspace
folder>`` when it ends, where pid is the wrapper's, which leads the attempt's process group. Each line
is one ``write``, so lines never interleave.

Only a restarting server reads it: the running server learns exit codes by waiting for its children,
but an attempt that ended while no server was there left its code nowhere else, and an attempt that
has no begin mark never ran its command. Appending to one file per job costs a wrapper far less than
creating a file per attempt, which for short commands was a large share of the kernel's work.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass

log = logging.getLogger(__name__)

JOURNAL = "exits"
_BEGIN = b"S"


def journal_path(job_folder: str) -> str:
    return f"{job_folder}/{JOURNAL}"


@dataclass(frozen=True)
class Exit:
    code: int
    pid: int  # the wrapper's, the process group the command may have left children in
    workdir: str  # the workspace the attempt ran in, which holds its logs until they are kept


class ExitJournals:
    """Begin marks and exit codes of re-attached attempts, read from each job's journal incrementally.

    Every attempt to be asked about must be ``expect``-ed before its journal is first read, as a read
    moves past the lines of attempts nobody expects; so a journal of 100,000 lines costs one pass and
    no memory per line.
    """

    def __init__(self) -> None:
        self._offsets: dict[str, int] = {}
        self._expected: set[int] = set()
        self._begun: dict[int, int] = {}  # attempt pk -> wrapper pid
        self._exits: dict[int, Exit] = {}

    def expect(self, attempt_pks: Iterable[int]) -> None:
        self._expected.update(attempt_pks)

    def exit(self, job_folder: str, attempt_pk: int) -> Exit | None:
        """How the attempt ended, or None if it has not ended or ended without recording it."""
        if attempt_pk not in self._exits:
            self._read_new_lines(journal_path(job_folder))
        found = self._exits.pop(attempt_pk, None)
        if found is not None:
            self._expected.discard(attempt_pk)
            self._begun.pop(attempt_pk, None)
        return found

    def begun(self, job_folder: str, attempt_pk: int) -> int | None:
        """The pid of the attempt's wrapper if it got as far as to allow its command to start."""
        if attempt_pk not in self._begun:
            self._read_new_lines(journal_path(job_folder))
        return self._begun.get(attempt_pk)

    def _read_new_lines(self, path: str) -> None:
        try:
            with open(path, "rb") as f:
                f.seek(self._offsets.get(path, 0))
                data = f.read()
        except FileNotFoundError:
            return  # no attempt of the job has begun yet
        except OSError as exc:  # unreadable: the attempts concerned are then counted as lost
            log.warning("exit journal %s could not be read: %s", path, exc)
            return
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written is read next time
        self._offsets[path] = self._offsets.get(path, 0) + len(complete)
        for line in complete.splitlines():
            self._take(line.split(b" ", 3))

    def _begin(self, attempt_pk: int, pid: int) -> None:
        if attempt_pk in self._expected:
            self._begun[attempt_pk] = pid

    def _take(self, words: list[bytes]) -> None:
        """Lines that are not whole (a full disk cuts them) are skipped: their attempts count as lost."""
        if len(words) == 3 and words[0] == _BEGIN and words[1].isdigit() and words[2].isdigit():
            self._begin(int(words[1]), int(words[2]))
        elif len(words) == 4 and words[0].isdigit() and int(words[0]) in self._expected:
            with contextlib.suppress(ValueError):  # a line cut short by a full disk
                self._exits[int(words[0])] = Exit(int(words[1]), int(words[2]), os.fsdecode(words[3]))
