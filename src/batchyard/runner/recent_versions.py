"""Versions of the objects a task reads, looked up at most once a second rather than once per attempt.

A node copies an input or a package it keeps from its own disk once the store says the object's
version is the one it keeps (``staging.py``). Asked before every attempt, that costs a request each (a
HEAD on S3, which the store serves too): for a task of short instances over moto on this machine's two
cores, a sixth of the whole run (docs/performance.md). The instances of one task all map the same
objects and run in no order among themselves, so a version looked up for one of a task's attempts
serves the task's other attempts on this server for ``TRUSTED_S``: an attempt may get the version an
object had up to that long before it was staged, as an attempt staged ahead of its start already may.

Never across tasks: a task that depends on another must read what that one wrote, at once. Never for a
task whose outputs can land on an object it reads (its instances may replace it for one another, one
after the other). And never to name what a node downloads into its cache, nor to check that a
download was of one version only: those ask the store itself (``staging.py``).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable

from batchyard.domain.attempts import DataPlan
from batchyard.domain.errors import ApiError
from batchyard.storage.paths import RemotePath, parse_remote
from batchyard.storage.store import ObjectStore

TRUSTED_S = 1.0
# Past this many entries all are forgotten: a forgotten version costs one lookup, never a wrong answer.
_MAX_ENTRIES = 4096

VersionOf = Callable[[RemotePath], str]


class RecentVersions:
    """The versions this server's nodes looked up lately, by task; shared by the I/O pool's threads."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._seen: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def lookup(self, job_id: str, task_name: str, plan: DataPlan) -> VersionOf:
        """How the attempts of this task (whose mappings are ``plan``) ask for an object's version."""
        if writes_what_it_reads(plan):
            return self._store.version
        return functools.partial(self._version, job_id, task_name)

    def _version(self, job_id: str, task_name: str, path: RemotePath) -> str:
        key = (job_id, task_name, path.url)
        asked = time.monotonic()  # before the request: a write it does not see is younger than this
        with self._lock:
            seen = self._seen.get(key)
        if seen is not None and asked - seen[1] < TRUSTED_S:
            return seen[0]
        version = self._store.version(path)
        with self._lock:
            if len(self._seen) >= _MAX_ENTRIES:
                self._seen.clear()
            self._seen[key] = (version, asked)
        return version


@functools.lru_cache(maxsize=256)
def writes_what_it_reads(plan: DataPlan) -> bool:
    """Whether an output folder of the plan holds, or lies in, one of its inputs or its package.
    A path that does not parse counts as overlapping: it then gets no shortcut, and its staging (in
    the I/O pool, not here on the event loop) fails the attempt saying why."""
    try:
        reads = [parse_remote(remote, directory=False) for remote, _ in plan.inputs]
        reads += [parse_remote(plan.package, directory=False)] if plan.package is not None else []
        writes = [parse_remote(remote, directory=True) for _, remote in plan.outputs]
    except (ApiError, ValueError):  # ValueError: a key that is not UTF-8 (a lone surrogate)
        return True
    return any(_overlap(read, write) for read in reads for write in writes)


def _overlap(a: RemotePath, b: RemotePath) -> bool:
    same_bucket = (a.scheme, a.bucket) == (b.scheme, b.bucket)
    return same_bucket and (a.key.startswith(b.key) or b.key.startswith(a.key))
