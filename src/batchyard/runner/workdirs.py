"""Working directories for attempts, reused while they are left empty.

A fresh folder per attempt costs a mkdir and an rmdir, which for short commands is a large share
of the kernel's work; an attempt still always starts in an empty directory of its own. Folders
belong to one server run, so a restarted server never hands out a folder in which a re-attached
attempt of the previous run may still be working.
"""

from __future__ import annotations

import os
import time


class WorkDirs:
    def __init__(self, root: str) -> None:
        self._root = f"{root}/{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        self._free: list[str] = []
        self._made = 0

    def take(self) -> str:
        if self._free:
            return self._free.pop()
        self._made += 1
        path = f"{self._root}/{self._made}"
        os.makedirs(path)
        return path

    def give_back(self, path: str) -> bool:
        """Keep ``path`` for the next attempt if the last one left it empty; False means: clean it."""
        try:
            empty = not os.listdir(path)
        except FileNotFoundError:
            return True  # the command removed its own working directory; nothing to reuse or clean
        if empty:
            self._free.append(path)
        return empty
