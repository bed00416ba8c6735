"""`python bench/named_threads.py serve ...` is `python -m batchyard serve ...` with its threads named.

Python 3.11 leaves every thread's name in /proc as the process's, so CPU time per thread cannot be
told apart by role. Here each new thread gives the kernel its Python name (`asyncio_0` runs the
scheduler's ticks, `AnyIO worker thread` the API's handlers, `local-io_0` log uploads) before it
runs; the main thread, which runs the event loop, keeps the process's name. One `prctl` per thread
start is all that changes: the server is otherwise the one users run.
"""

from __future__ import annotations

import ctypes
import runpy
import sys
import threading
from pathlib import Path
from typing import Any

_PR_SET_NAME = 15
_LIBC = ctypes.CDLL(None, use_errno=True)
_bootstrap_inner: Any = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]


def _named_bootstrap(self: threading.Thread) -> None:
    _LIBC.prctl(_PR_SET_NAME, self.name.encode()[:15], 0, 0, 0)
    _bootstrap_inner(self)


def main() -> None:
    here = Path(__file__).resolve().parent
    # Run as a script, bench/ would come first on the path and its modules shadow others by name.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    threading.Thread._bootstrap_inner = _named_bootstrap  # type: ignore[attr-defined]
    sys.argv[0] = "batchyard"
    runpy.run_module("batchyard", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
