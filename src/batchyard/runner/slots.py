"""Slots: a working folder and its two log files, reused by one attempt after another.

Creating files is, for short commands, the largest share of the kernel's work, and on a busy ext4
disk a file creation can cost more than the command itself. So an attempt writes its logs into its
slot's files, truncated at launch; when it ends, logs that are not empty are renamed to the
attempt's own names (``runner.paths``), and empty ones cost nothing. A slot is used again only after
the store has recorded its attempt's end (``LocalExecutor.release``), so after a crash the slot of
an attempt not yet recorded still holds that attempt's logs and nobody else's. An attempt always
starts in an empty folder: one its command left files in is deleted, not reused.

Slots belong to one server run, so a restarted server never hands out a slot in which a re-attached
attempt of the previous run may still be working.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Slot:
    workdir: str

    @property
    def stdout(self) -> str:
        return self.workdir + ".stdout"

    @property
    def stderr(self) -> str:
        return self.workdir + ".stderr"

    def keep_logs(self, stdout: str, stderr: str) -> None:
        """Move logs that are not empty to the attempt's own files; leave empty ones to be truncated."""
        for source, target in ((self.stdout, stdout), (self.stderr, stderr)):
            try:
                if os.stat(source).st_size:
                    os.rename(source, target)
            except FileNotFoundError:
                continue  # never written (the attempt did not start) or already moved

    def is_clean(self) -> bool:
        """True if the command left its working folder empty (or removed it, which is as good).

        A folder that cannot be read or remade (the command changed its permissions) is not clean.
        """
        try:
            return not os.listdir(self.workdir)
        except FileNotFoundError:
            try:
                os.makedirs(self.workdir)
            except OSError:
                return False
            return True
        except OSError:
            return False

    def discard(self) -> None:
        """Delete the slot for good; never raises, as the attempt's end must still be reported."""
        shutil.rmtree(self.workdir, ignore_errors=True)
        for log_file in (self.stdout, self.stderr):
            with contextlib.suppress(OSError):
                os.remove(log_file)


class Slots:
    def __init__(self, root: str) -> None:
        self._root = f"{root}/{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        self._free: list[Slot] = []
        self._made = 0

    def take(self) -> Slot:
        if self._free:
            return self._free.pop()
        self._made += 1
        slot = Slot(f"{self._root}/{self._made}")
        os.makedirs(slot.workdir)
        return slot

    def put_back(self, slot: Slot) -> None:
        self._free.append(slot)
