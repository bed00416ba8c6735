"""Compute nodes as slots of this machine: each attempt is one ``/bin/sh`` in its own process group.

Exits are watched with pidfds on the event loop (no thread or poll per attempt). Logs are uploaded
in a small thread pool before the attempt is reported finished, so a SUCCEED instance always has
its logs in place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from batchyard.executors.base import (
    AttemptFinished,
    AttemptSpec,
    AttemptStarted,
    EventSink,
    Failure,
    Resources,
)
from batchyard.runner.environment import attempt_environment, node_environment
from batchyard.runner.logs import upload_logs
from batchyard.runner.outcome import classify_exit
from batchyard.runner.paths import AttemptPaths
from batchyard.runner.wrapper import attempt_tag, wrapper_argv
from batchyard.storage.store import ObjectStore

log = logging.getLogger(__name__)


@dataclass
class _Running:
    spec: AttemptSpec
    paths: AttemptPaths
    pid: int
    pidfd: int
    process: subprocess.Popen[bytes] | None  # None when re-attached after a restart


class LocalExecutor:
    def __init__(
        self, runs_dir: Path, store: ObjectStore, capacity: Resources, kill_grace_s: float = 5.0
    ) -> None:
        self._runs_dir = runs_dir
        self._kill_grace_s = kill_grace_s
        self._store = store
        self._capacity = capacity
        self._running: dict[int, _Running] = {}
        self._unfinished: set[int] = set()  # launched and not yet reported finished
        self._io = ThreadPoolExecutor(max_workers=4, thread_name_prefix="local-io")
        self._node_env = node_environment()
        self._sink: EventSink | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def capacity(self) -> Resources:
        return self._capacity

    async def start(self, sink: EventSink) -> None:
        self._sink = sink
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        for attempt in list(self._running.values()):
            self._unwatch(attempt)
        self._io.shutdown(wait=True)

    def launch(self, attempts: Sequence[AttemptSpec]) -> None:
        for spec in attempts:
            if spec.attempt_pk not in self._unfinished:
                self._unfinished.add(spec.attempt_pk)
                self._launch_one(spec)

    def cancel(self, attempt_pks: Sequence[int]) -> None:
        for pk in attempt_pks:
            attempt = self._running.get(pk)
            if attempt is not None:
                _signal_group(attempt.pid, signal.SIGTERM)
                self._started().call_later(self._kill_grace_s, self._kill_hard, pk, attempt.pid)

    def _kill_hard(self, attempt_pk: int, pid: int) -> None:
        if attempt_pk in self._running:
            _signal_group(pid, signal.SIGKILL)

    def reattach(self, attempts: Sequence[AttemptSpec]) -> None:
        for spec in attempts:
            self._unfinished.add(spec.attempt_pk)
            self._reattach_one(spec)

    def _launch_one(self, spec: AttemptSpec) -> None:
        paths = AttemptPaths.of(self._runs_dir, spec.job_id, spec.attempt_pk)
        try:
            paths.work.mkdir(parents=True, exist_ok=True)
            with paths.stdout.open("wb") as out, paths.stderr.open("wb") as err:
                process = subprocess.Popen(
                    wrapper_argv(spec.attempt_pk, paths, spec.command),
                    cwd=paths.work,
                    env=attempt_environment(spec, self._node_env),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                )
        except OSError as exc:
            self._finish(spec, paths, None, Failure.SYSTEM, f"The command could not be started: {exc}.")
            return
        self._emit(AttemptStarted(spec.attempt_pk, time.time()))
        self._watch(_Running(spec, paths, process.pid, os.pidfd_open(process.pid), process))

    def _reattach_one(self, spec: AttemptSpec) -> None:
        paths = AttemptPaths.of(self._runs_dir, spec.job_id, spec.attempt_pk)
        pid = paths.read_pid()
        if paths.read_exit_code() is None and pid is not None and _owns(pid, spec.attempt_pk):
            try:
                pidfd = os.pidfd_open(pid)
            except ProcessLookupError:
                pass
            else:
                log.info("re-attached attempt %s (pid %s)", spec.attempt_pk, pid)
                self._emit(AttemptStarted(spec.attempt_pk, time.time()))
                self._watch(_Running(spec, paths, pid, pidfd, None))
                return
        self._conclude(spec, paths, killed_by=None)

    def _started(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("LocalExecutor.start() was not awaited")
        return self._loop

    def _watch(self, attempt: _Running) -> None:
        self._running[attempt.spec.attempt_pk] = attempt
        self._started().add_reader(attempt.pidfd, self._on_exit, attempt)

    def _unwatch(self, attempt: _Running) -> None:
        self._started().remove_reader(attempt.pidfd)
        os.close(attempt.pidfd)
        self._running.pop(attempt.spec.attempt_pk, None)

    def _on_exit(self, attempt: _Running) -> None:
        self._unwatch(attempt)
        killed_by = None
        if attempt.process is not None:
            returncode = attempt.process.wait()
            killed_by = -returncode if returncode < 0 else None
        self._conclude(attempt.spec, attempt.paths, killed_by)

    def _conclude(self, spec: AttemptSpec, paths: AttemptPaths, killed_by: int | None) -> None:
        exit_code = paths.read_exit_code()
        failure, reason = classify_exit(exit_code, killed_by)
        self._finish(spec, paths, exit_code, failure, reason)

    def _finish(
        self, spec: AttemptSpec, paths: AttemptPaths, exit_code: int | None, failure: Failure, reason: str
    ) -> None:
        future = self._started().run_in_executor(self._io, self._upload_and_clean, spec, paths)

        def report(done: asyncio.Future[str | None]) -> None:
            self._unfinished.discard(spec.attempt_pk)
            upload_error = done.result()
            if upload_error is not None and failure is Failure.NONE:
                self._emit(
                    AttemptFinished(spec.attempt_pk, time.time(), exit_code, Failure.SYSTEM, upload_error)
                )
            else:
                self._emit(AttemptFinished(spec.attempt_pk, time.time(), exit_code, failure, reason))

        future.add_done_callback(report)

    def _upload_and_clean(self, spec: AttemptSpec, paths: AttemptPaths) -> str | None:
        """Upload logs even when the command failed; return why an upload failed, if it did."""
        try:
            upload_logs(spec, paths, self._store)
        except Exception as exc:  # any storage failure is the system's, reported as data
            log.warning("log upload of attempt %s failed: %s", spec.attempt_pk, exc)
            return f"The logs could not be uploaded: {exc}."
        finally:
            shutil.rmtree(paths.work, ignore_errors=True)
        return None

    def _emit(self, event: AttemptStarted | AttemptFinished) -> None:
        if self._sink is not None:
            self._sink(event)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the attempt's whole process group (the wrapper made itself its leader)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _owns(pid: int, attempt_pk: int) -> bool:
    """True if ``pid`` is still this attempt's wrapper (pids are reused after exit)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return attempt_tag(attempt_pk).encode() in cmdline.split(b"\0")
