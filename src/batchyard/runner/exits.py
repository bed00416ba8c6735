"""Each job's exit journal: a line ``<attempt pk> <exit code>`` per attempt that ended, appended by
the attempt's wrapper from its EXIT trap (one ``write``, so concurrent lines never interleave).

Only a restarting server reads it: the running server learns exit codes by waiting for its children,
but an attempt that ended while no server was there left its code nowhere else. Appending to one
file per job costs a wrapper far less than creating a file per attempt, which for short commands
was a large share of the kernel's work.
"""

from __future__ import annotations

JOURNAL = "exits"


def journal_path(job_folder: str) -> str:
    return f"{job_folder}/{JOURNAL}"


class ExitJournals:
    """Exit codes of re-attached attempts, read from each job's journal from where the last read ended.

    Only the attempts it was told to ``expect`` are kept, so a journal of 100,000 lines costs a
    single pass and no memory per line.
    """

    def __init__(self) -> None:
        self._offsets: dict[str, int] = {}
        self._expected: set[int] = set()
        self._codes: dict[int, int] = {}

    def expect(self, attempt_pk: int) -> None:
        self._expected.add(attempt_pk)

    def code(self, job_folder: str, attempt_pk: int) -> int | None:
        """The attempt's recorded exit code, or None if it ended without recording one."""
        if attempt_pk not in self._codes:
            self._read_new_lines(journal_path(job_folder))
        code = self._codes.pop(attempt_pk, None)
        if code is not None:
            self._expected.discard(attempt_pk)
        return code

    def _read_new_lines(self, path: str) -> None:
        try:
            with open(path, "rb") as f:
                f.seek(self._offsets.get(path, 0))
                data = f.read()
        except FileNotFoundError:
            return
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written is read next time
        self._offsets[path] = self._offsets.get(path, 0) + len(complete)
        for line in complete.splitlines():
            words = line.split()
            if len(words) == 2 and words[0].isdigit() and words[1].lstrip(b"-").isdigit():
                pk = int(words[0])
                if pk in self._expected:
                    self._codes[pk] = int(words[1])
