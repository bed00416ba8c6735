"""Compute nodes on this machine: each attempt is one ``/bin/sh`` in its own process group, working
in a slot (``runner.slots``) that later attempts reuse.

The scheduler may hand over a little more than fits (``backlog``); those attempts wait here in
rank (priority) order and start the moment capacity frees, without a round trip through the
scheduler and the store.
Exits of the attempts this server started are reaped on SIGCHLD, in one batch per signal, on the
event loop; the server process starts no other children, so every child it has is an attempt. An
attempt re-attached after a restart is not a child: its exit is watched with a pidfd. Logs are uploaded
in a small thread pool before the attempt is reported finished, so a SUCCEED instance always has its
logs in place; an attempt with nothing to upload or clean is reported without leaving the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import os
import signal
import time
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
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
from batchyard.runner.exits import Exit, ExitJournals, journal_path
from batchyard.runner.logs import upload_logs
from batchyard.runner.outcome import LOST, classify_error, classify_exit
from batchyard.runner.paths import AttemptPaths
from batchyard.runner.slots import Slot, Slots
from batchyard.runner.wrapper import Alive, running_wrappers, wrapper_argv
from batchyard.storage.store import ObjectStore

log = logging.getLogger(__name__)

CANCELLED_BEFORE_START = "The attempt was cancelled before it started."
_LOG_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
BACKLOG_FACTOR = 32
_JOB_FOLDERS_REMEMBERED = 10_000


@dataclass
class _Running:
    spec: AttemptSpec
    paths: AttemptPaths
    slot: Slot
    pid: int
    pidfd: int | None  # None for our own children, reaped on SIGCHLD; set for re-attached ones


class LocalExecutor:
    def __init__(
        self, runs_dir: Path, store: ObjectStore, capacity: Resources, kill_grace_s: float = 5.0
    ) -> None:
        self._runs_dir = runs_dir
        self._store = store
        self._capacity = capacity
        self._kill_grace_s = kill_grace_s
        # Free capacity as plain numbers: checked and updated for every launch and exit.
        self._free_cpu = capacity.cpu
        self._free_memory = capacity.memory_gib
        self._waiting: list[tuple[tuple[int, int, int, int], int, AttemptSpec]] = []  # heap by rank
        self._running: dict[int, _Running] = {}
        self._children: dict[int, _Running] = {}  # by pid
        self._unfinished: set[int] = set()  # handed over and not yet reported finished
        self._io = ThreadPoolExecutor(max_workers=4, thread_name_prefix="local-io")
        self._node_env = node_environment()
        self._slots = Slots(os.fspath(runs_dir / "work"))
        self._parked: dict[int, Slot] = {}  # slots of ended attempts, until the store has their end
        self._exits = ExitJournals()
        self._hard_kills: dict[int, asyncio.TimerHandle] = {}  # SIGKILLs promised after SIGTERM, by pk
        self._job_folders: set[str] = set()  # jobs whose folder this run has made sure of
        self._sink: EventSink | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def capacity(self) -> Resources:
        return self._capacity

    def backlog(self) -> Resources:
        """Enough waiting work that freed slots refill at once while the scheduler batches its ticks.

        Waiting attempts never delay better-ranked work: they start in rank order and the
        scheduler may hand better-ranked work over beyond this (see ``Ledger.displaceable``).
        """
        return Resources(self._capacity.cpu * BACKLOG_FACTOR, self._capacity.memory_gib * BACKLOG_FACTOR)

    async def start(self, sink: EventSink) -> None:
        self._sink = sink
        self._loop = asyncio.get_running_loop()
        self._loop.add_signal_handler(signal.SIGCHLD, self._reap_children)

    async def stop(self) -> None:
        """Stop watching; SIGKILLs promised to attempts already sent SIGTERM are sent now, not dropped."""
        self._loop_or_fail().remove_signal_handler(signal.SIGCHLD)
        for pk, timer in list(self._hard_kills.items()):
            timer.cancel()
            self._kill_hard(pk)
        for attempt in list(self._running.values()):
            self._unwatch(attempt)
        self._io.shutdown(wait=True)

    def launch(self, attempts: Sequence[AttemptSpec]) -> None:
        for spec in attempts:
            if spec.attempt_pk not in self._unfinished:
                self._unfinished.add(spec.attempt_pk)
                heapq.heappush(self._waiting, (spec.rank, spec.attempt_pk, spec))
        self._pump()

    def cancel(self, attempt_pks: Sequence[int]) -> None:
        targets = set(attempt_pks)
        dropped = [entry for entry in self._waiting if entry[1] in targets]
        if dropped:
            self._waiting = [entry for entry in self._waiting if entry[1] not in targets]
            heapq.heapify(self._waiting)
        for _, _, spec in dropped:
            self._report(spec, None, Failure.USER, CANCELLED_BEFORE_START)
        for pk in targets & self._running.keys():
            if pk not in self._hard_kills:
                _signal_group(self._running[pk].pid, signal.SIGTERM)
                self._hard_kills[pk] = self._loop_or_fail().call_later(
                    self._kill_grace_s, self._kill_hard, pk
                )

    def reattach(self, attempts: Sequence[AttemptSpec]) -> None:
        alive = running_wrappers() if attempts else {}
        self._exits.expect(spec.attempt_pk for spec in attempts)
        ended_groups = []
        for spec in attempts:
            self._unfinished.add(spec.attempt_pk)
            paths = AttemptPaths.of(self._runs_dir, spec.job_id, spec.attempt_pk)
            found = alive.get((journal_path(paths.job_folder), spec.attempt_pk))
            ended_groups.append(self._reattach_one(spec, paths, found))
        _kill_leftovers({pid for pid in ended_groups if pid is not None})
        self._pump()

    def release(self, attempt_pks: Sequence[int]) -> None:
        for pk in attempt_pks:
            slot = self._parked.pop(pk, None)
            if slot is not None:
                self._slots.put_back(slot)

    def live_logs(self, attempt_pk: int) -> tuple[str, str] | None:
        attempt = self._running.get(attempt_pk)
        return None if attempt is None else (attempt.slot.stdout, attempt.slot.stderr)

    def _pump(self) -> None:
        """Start waiting attempts in rank order while the next one fits."""
        waiting = self._waiting
        while waiting:
            demand = waiting[0][2].demand
            if demand.cpu > self._free_cpu or demand.memory_gib > self._free_memory:
                break
            self._launch_one(heapq.heappop(waiting)[2])

    def _kill_hard(self, attempt_pk: int) -> None:
        self._hard_kills.pop(attempt_pk, None)
        attempt = self._running.get(attempt_pk)
        if attempt is not None:
            _signal_group(attempt.pid, signal.SIGKILL)

    def _launch_one(self, spec: AttemptSpec) -> None:
        paths = AttemptPaths.of(self._runs_dir, spec.job_id, spec.attempt_pk)
        slot: Slot | None = None
        try:
            if spec.job_id not in self._job_folders:
                paths.ensure_folder()
                if len(self._job_folders) >= _JOB_FOLDERS_REMEMBERED:
                    self._job_folders.clear()
                self._job_folders.add(spec.job_id)
            slot = self._slots.take()
            pid = self._spawn(spec, paths, slot)
        except Exception as exc:  # whatever one attempt meets ends that attempt, never the scheduler
            if slot is not None:
                self._slots.put_back(slot)
            self._report(spec, None, *classify_error(exc, "The command could not be started"))
            return
        self._emit(AttemptStarted(spec.attempt_pk, time.time()))
        self._watch(_Running(spec, paths, slot, pid, None))

    def _spawn(self, spec: AttemptSpec, paths: AttemptPaths, slot: Slot) -> int:
        """posix_spawn (vfork + exec in libc) in a new session, logs opened by the child itself."""
        return os.posix_spawn(
            "/bin/sh",
            wrapper_argv(spec.attempt_pk, journal_path(paths.job_folder), spec.command, slot.workdir),
            attempt_environment(spec, self._node_env),
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, slot.stdout, _LOG_FLAGS, 0o644),
                (os.POSIX_SPAWN_OPEN, 2, slot.stderr, _LOG_FLAGS, 0o644),
            ],
            setsid=True,
        )

    def _reattach_one(self, spec: AttemptSpec, paths: AttemptPaths, alive: Alive | None) -> int | None:
        """Watch a wrapper still alive, record one that ended meanwhile, queue one that never began.

        A wrapper that is gone without a begin mark never let its command start (it was still waiting
        in this node's queue), so it is launched now, for the first time; one gone with a begin mark
        and no exit code is lost. Returns the process group of an attempt that ended, to be cleared.
        """
        if alive is not None:
            with contextlib.suppress(ProcessLookupError):
                pidfd = os.pidfd_open(alive.pid)
                log.info("re-attached attempt %s (pid %s)", spec.attempt_pk, alive.pid)
                self._emit(AttemptStarted(spec.attempt_pk, time.time()))
                self._watch(_Running(spec, paths, Slot(alive.workdir), alive.pid, pidfd))
                return None
        ended = self._exits.exit(paths.job_folder, spec.attempt_pk)
        pid = ended.pid if ended is not None else self._exits.begun(paths.job_folder, spec.attempt_pk)
        if pid is None:
            heapq.heappush(self._waiting, (spec.rank, spec.attempt_pk, spec))
        else:
            self._conclude(spec, paths, ended)
        return pid

    def _loop_or_fail(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("LocalExecutor.start() was not awaited")
        return self._loop

    def _watch(self, attempt: _Running) -> None:
        self._running[attempt.spec.attempt_pk] = attempt
        self._free_cpu -= attempt.spec.demand.cpu
        self._free_memory -= attempt.spec.demand.memory_gib
        if attempt.pidfd is None:
            self._children[attempt.pid] = attempt
        else:
            self._loop_or_fail().add_reader(attempt.pidfd, self._on_reattached_exit, attempt)

    def _unwatch(self, attempt: _Running) -> None:
        if attempt.pidfd is None:
            del self._children[attempt.pid]
        else:
            self._loop_or_fail().remove_reader(attempt.pidfd)
            os.close(attempt.pidfd)
        del self._running[attempt.spec.attempt_pk]
        self._free_cpu += attempt.spec.demand.cpu
        self._free_memory += attempt.spec.demand.memory_gib

    def _reap_children(self) -> None:
        """Reap every child that has exited (signals coalesce: one SIGCHLD may stand for many)."""
        while True:
            try:
                exited = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                break
            if exited is None:
                break
            attempt = self._children.get(exited.si_pid)
            if attempt is not None:
                # Like a node destroyed after its instance, nothing the command left behind survives
                # it. The wrapper is not reaped yet, so its process group id cannot be reused.
                _signal_group(attempt.pid, signal.SIGKILL)
            _, status = os.waitpid(exited.si_pid, 0)
            if attempt is None:
                log.warning("reaped pid %s, which was not an attempt of this executor", exited.si_pid)
                continue
            self._unwatch(attempt)
            returncode = os.waitstatus_to_exitcode(status)
            # The wrapper exits with the command's code; a negative code means it was killed itself.
            exit_code, killed_by = (returncode, None) if returncode >= 0 else (None, -returncode)
            failure, reason = classify_exit(exit_code, killed_by)
            self._finish(attempt.spec, attempt.paths, attempt.slot, exit_code, failure, reason, reuse=True)
        self._pump()

    def _on_reattached_exit(self, attempt: _Running) -> None:
        """As for our own children, nothing the command left in its process group survives it."""
        _kill_leftovers({attempt.pid})
        self._unwatch(attempt)
        self._conclude(
            attempt.spec, attempt.paths, self._exits.exit(attempt.paths.job_folder, attempt.spec.attempt_pk)
        )
        self._pump()

    def _conclude(self, spec: AttemptSpec, paths: AttemptPaths, ended: Exit | None) -> None:
        """End an attempt known only from its journal line (after a restart), or as lost without one."""
        if ended is None:
            self._report(spec, None, Failure.SYSTEM, LOST)
            return
        failure, reason = classify_exit(ended.code, None)
        # The slot belongs to the previous server run: its logs are kept, the slot is never reused.
        self._finish(spec, paths, Slot(ended.workdir), ended.code, failure, reason, reuse=False)

    def _finish(
        self,
        spec: AttemptSpec,
        paths: AttemptPaths,
        slot: Slot,
        exit_code: int | None,
        failure: Failure,
        reason: str,
        reuse: bool,
    ) -> None:
        """Keep the logs and park the slot (or discard it if dirty), upload what is redirected, report."""
        try:
            slot.keep_logs(paths.stdout, paths.stderr)
        except OSError as exc:  # the node's disk failed us, not the command
            log.warning("logs of attempt %s could not be kept: %s", spec.attempt_pk, exc)
            self._report(spec, exit_code, failure, reason, classify_error(exc, "The logs could not be kept"))
            return
        dirty = None
        if reuse:
            if slot.is_clean():
                self._parked[spec.attempt_pk] = slot
            else:
                dirty = slot
        if spec.redirect.stdout is None and spec.redirect.stderr is None and dirty is None:
            self._report(spec, exit_code, failure, reason)
            return
        future = self._loop_or_fail().run_in_executor(self._io, self._upload_and_discard, spec, paths, dirty)
        future.add_done_callback(lambda done: self._report(spec, exit_code, failure, reason, done.result()))

    def _upload_and_discard(
        self, spec: AttemptSpec, paths: AttemptPaths, dirty: Slot | None
    ) -> tuple[Failure, str] | None:
        """Upload logs even when the command failed; return how an upload failed, if it did."""
        try:
            upload_logs(spec, paths, self._store)
        except Exception as exc:  # any storage failure is reported as data, classified once
            log.warning("log upload of attempt %s failed: %s", spec.attempt_pk, exc)
            return classify_error(exc, "The logs could not be uploaded")
        finally:
            if dirty is not None:
                dirty.discard()
        return None

    def _report(
        self,
        spec: AttemptSpec,
        exit_code: int | None,
        failure: Failure,
        reason: str,
        log_failure: tuple[Failure, str] | None = None,
    ) -> None:
        """``log_failure`` (keeping or uploading logs failed) decides only for a command that succeeded."""
        self._unfinished.discard(spec.attempt_pk)
        if log_failure is not None and failure is Failure.NONE:
            failure, reason = log_failure
        self._emit(AttemptFinished(spec.attempt_pk, time.time(), exit_code, failure, reason))

    def _emit(self, event: AttemptStarted | AttemptFinished) -> None:
        if self._sink is not None:
            self._sink(event)


def _kill_leftovers(pgids: AbstractSet[int]) -> None:
    """SIGKILL what is left of process groups whose leaders, not our children, have exited.

    A group's number may name a new group only once no process is left in the old one, so a group
    is signalled only while a member other than its leader is seen in it (one pass over /proc).
    """
    if not pgids:
        return
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) not in pgids:
            pgid = _process_group(entry.name)
            if pgid is not None and pgid in pgids:
                _signal_group(pgid, signal.SIGKILL)


def _process_group(pid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rpartition(b")")[2].split()
        return int(fields[2])  # after the command name: state, ppid, pgrp
    except (OSError, ValueError, IndexError):
        return None  # gone meanwhile


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the attempt's whole process group (the wrapper made itself its leader)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
