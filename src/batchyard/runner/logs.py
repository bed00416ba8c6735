"""An attempt's stdout/stderr: uploaded to the redirect paths at the end, tails read by DescribeTaskLogs."""

from __future__ import annotations

import os
from pathlib import Path

from batchyard.domain.attempts import AttemptSpec
from batchyard.runner.paths import AttemptPaths
from batchyard.storage.paths import parse_remote
from batchyard.storage.store import ObjectStore


def upload_logs(spec: AttemptSpec, paths: AttemptPaths, store: ObjectStore) -> None:
    """Copy both logs to their redirect objects; raises on any storage failure."""
    for local, remote in ((paths.stdout, spec.redirect.stdout), (paths.stderr, spec.redirect.stderr)):
        if remote is not None:
            if not os.path.exists(local):
                open(local, "wb").close()
            store.put(Path(local), parse_remote(remote, directory=False))


def read_tail(path: str, limit: int) -> bytes:
    """The last ``limit`` bytes of a log, or nothing if the attempt has not written one."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - limit))
            return f.read()
    except FileNotFoundError:
        return b""
