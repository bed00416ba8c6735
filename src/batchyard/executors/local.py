"""Compute nodes on this machine: a node is a share of it with a workspace (``runner.workspace``), and
each attempt is one ``/bin/sh`` wrapper (``runner.wrapper``) in its own session, working in its node's
workspace.

The machine is one host; the scheduler counts what its nodes take of it. A node runs one attempt at
a time: attempts assigned to a busy node start, in order, as soon as the one before has ended and
its logs are kept (never before, so an attempt's logs are always its own). Each wrapper is watched
through a pidfd, and only the wrappers this executor started or re-attached are ever waited for: the
server may run other children (a cluster backend's tools). Logs are uploaded in a small thread pool
before the attempt is reported finished, so a SUCCEED instance always has its logs in place; an
attempt with nothing to upload or clean is reported without leaving the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from batchyard.domain.attempts import AttemptSpec, Failure, LogRef
from batchyard.domain.resources import Resources
from batchyard.executors.base import (
    AttachedAttempt,
    AttachedNode,
    AttemptFinished,
    AttemptStarted,
    Event,
    EventSink,
    Host,
    NodeFailed,
    NodeLost,
    NodeReady,
    NodeSpec,
    Usage,
)
from batchyard.executors.usage import Reading, UsageMeter
from batchyard.runner.cgroups import NodeCgroup
from batchyard.runner.environment import attempt_environment, node_environment, sandboxed_attempt
from batchyard.runner.exits import Exit, ExitJournals, journal_path
from batchyard.runner.logs import read_tail, upload_logs
from batchyard.runner.node_sandbox import HoldFailed, NodeSandbox, held_sandboxes, hold, holder_argv
from batchyard.runner.outcome import LOST, classify_error, classify_exit
from batchyard.runner.paths import AttemptPaths
from batchyard.runner.recent_versions import RecentVersions
from batchyard.runner.sandbox import NO_ISOLATION, Isolation, terminate_commands
from batchyard.runner.staging import (
    NodeData,
    StagingFailed,
    binds,
    save_outputs,
    stage_ahead,
    stage_in,
    take_staged,
)
from batchyard.runner.usage import Totals, disk_percent, session_totals
from batchyard.runner.workspace import Workspace
from batchyard.runner.wrapper import Alive, running_wrappers, wrapper_argv
from batchyard.storage.store import ObjectStore

log = logging.getLogger(__name__)

HOST_NAME = "local"
CANCELLED_BEFORE_START = "The attempt was cancelled before it started."
SANDBOX_ENDED = "The compute node's sandbox ended while the attempt ran in it (or tried to enter it)."
_LOG_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
_JOB_FOLDERS_REMEMBERED = 10_000


@dataclass(frozen=True)
class _Ahead:
    """The data of a node's next attempt, being staged (or staged) while the node runs the current one."""

    attempt_pk: int
    staged: asyncio.Future[None]  # its exception: the staging failed


@dataclass
class _Node:
    workspace: Workspace
    resources: Resources
    env: dict[str, str]  # what its commands see before BATCH_* and EnvVars
    cgroup: NodeCgroup | None  # holds it to its memory, where the host has cgroups
    oom_kills: int | None  # the OOM kills its cgroup had counted when its last attempt ended
    current: int | None = None  # the attempt it runs (until its end is reported)
    waiting: deque[AttemptSpec] = field(default_factory=deque)
    ready: bool = True  # a cluster's node runs nothing until its allocation has started
    held: NodeSandbox | None = None  # the sandbox it keeps for its attempts to enter
    ahead: _Ahead | None = None  # its next attempt's data, staged while the current one runs


@dataclass
class _Running:
    spec: AttemptSpec
    paths: AttemptPaths
    workspace: Workspace
    pid: int
    pidfd: int
    own_child: bool  # started by this run of the server (waited for), or re-attached (journal only)
    started: float | None  # when this server started it (unknown for one re-attached)


# What attempts have used so far (CPU time, memory now), by attempt pk; absent: not known.
TotalsOf = Callable[[list[_Running]], dict[int, Totals]]


class LocalExecutor:
    # The server stages data (a node's next attempt's while it runs one) and uploads outputs here.
    MOVES_DATA: ClassVar[bool] = True
    # Nodes here keep their sandboxes (runner.node_sandbox); a cluster's attempts run on other hosts.
    KEEPS_SANDBOXES = True

    def __init__(
        self,
        runs_dir: Path,
        store: ObjectStore,
        host: Host,
        kill_grace_s: float = 5.0,
        isolation: Isolation = NO_ISOLATION,
    ) -> None:
        """``isolation``: the sandbox commands run in and the cgroups nodes get, where this host has them."""
        self._runs_dir = runs_dir
        self._isolation = isolation
        # SIGTERM to attempts' process groups; in the sandbox, bwrap is spared to report the command's end
        self._terminate = _terminate_groups if isolation.sandbox is None else terminate_commands
        self._store = store
        self._versions = RecentVersions(store)
        self._host = host
        self._kill_grace_s = kill_grace_s
        self._nodes: dict[str, _Node] = {}
        self._running: dict[int, _Running] = {}
        self._launched: set[int] = set()  # handed over and not yet reported finished
        self._io = ThreadPoolExecutor(max_workers=4, thread_name_prefix="local-io")
        self._node_env = node_environment()
        self._exits = ExitJournals()
        self._hard_kills: dict[int, asyncio.TimerHandle] = {}  # SIGKILLs promised after SIGTERM, by pk
        self._job_folders: set[str] = set()  # jobs whose folder this run has made sure of
        self._meter = UsageMeter()
        self._staging: dict[int, bool] = {}  # attempts whose data is being staged -> cancelled meanwhile
        self._entered: dict[int, NodeSandbox] = {}  # attempts running in their node's kept sandbox
        self._sink: EventSink | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def hosts(self) -> Sequence[Host]:
        return (self._host,)

    async def start(self, sink: EventSink) -> None:
        self._sink = sink
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        """Stop watching; SIGKILLs promised to attempts already sent SIGTERM are sent now, not dropped."""
        for pk, timer in list(self._hard_kills.items()):
            timer.cancel()
            self._kill_hard(pk)
        for attempt in list(self._running.values()):
            self._unwatch(attempt)
        self._io.shutdown(wait=True)

    def provision(self, nodes: Sequence[NodeSpec]) -> None:
        for node in nodes:
            if node.host != self._host.name or not self._host.capacity.fits(node.resources):
                self._emit(
                    NodeFailed(node.node_id, time.time(), f"This machine cannot hold {node.resources}.")
                )
                continue
            workspace = self._workspace(node.node_id)
            try:
                workspace.reset()
            except OSError as exc:
                self._emit(NodeFailed(node.node_id, time.time(), f"The node's workspace failed: {exc}."))
                continue
            self._nodes[node.node_id] = self._new_node(node.node_id, workspace, node.resources)
            self._emit(NodeReady(node.node_id, time.time(), workspace.workdir))

    def retire(self, node_ids: Sequence[str]) -> None:
        for node_id in node_ids:
            node = self._nodes.pop(node_id, None)
            if node is not None:
                self._let_go(node)
                self._io.submit(node.workspace.discard)
                if node.cgroup is not None:
                    self._io.submit(node.cgroup.remove)
                self._after_ahead(node, NodeData.of(node.workspace.workdir).discard)

    def _after_ahead(self, node: _Node, job: Callable[[], None]) -> None:
        """Run ``job`` in the I/O pool once the node stages nothing ahead any more (a staging under
        way would make its folders again after a clean-up)."""
        if node.ahead is None:
            self._io.submit(job)
        else:
            node.ahead.staged.add_done_callback(lambda _: self._io.submit(job))

    def launch(self, attempts: Sequence[AttemptSpec]) -> None:
        for spec in attempts:
            if spec.attempt_pk not in self._launched:
                self._launched.add(spec.attempt_pk)
                self._queue(spec)

    def cancel(self, attempt_pks: Sequence[int]) -> None:
        targets = set(attempt_pks)
        for node in self._nodes.values():
            dropped = [spec for spec in node.waiting if spec.attempt_pk in targets]
            for spec in dropped:
                node.waiting.remove(spec)
                self._drop_ahead(node, spec.attempt_pk)
                self._report(spec, None, Failure.USER, CANCELLED_BEFORE_START)
        for pk in targets & self._staging.keys():
            self._staging[pk] = True  # it does not start once its data is in place
        running = [pk for pk in targets if pk in self._running and pk not in self._hard_kills]
        self._terminate({self._running[pk].pid for pk in running})
        for pk in running:
            self._hard_kills[pk] = self._loop_or_fail().call_later(self._kill_grace_s, self._kill_hard, pk)

    def reattach(self, nodes: Sequence[AttachedNode], attempts: Sequence[AttachedAttempt]) -> None:
        """Nodes are shares of this machine: they are all still here, their workspaces as they were
        (one still being made when the server stopped may have begun its first attempt already).

        A node's attempts ran one after another in their order, and each one's logs were kept before
        the next began; so only the last of them that began may still have logs in the workspace.
        """
        self._reattach_nodes(nodes)
        self._reattach_attempts(attempts)

    def _reattach_nodes(self, nodes: Sequence[AttachedNode]) -> None:
        """Each node takes back the sandbox it kept, with any attempt still running in it; sandboxes
        of nodes no longer known are killed."""
        kept = self._held_sandboxes()
        for known in nodes:
            node_id = known.spec.node_id
            workspace = self._workspace(node_id)
            try:
                workspace.make()
            except OSError as exc:
                self._emit(NodeLost(node_id, time.time(), f"The node's workspace failed: {exc}."))
                continue
            node = self._new_node(node_id, workspace, known.spec.resources)
            node.held = kept.pop(workspace.workdir, None)
            self._nodes[node_id] = node
            if known.handle is None:
                self._emit(NodeReady(node_id, time.time(), workspace.workdir))
        for orphan in kept.values():
            self._io.submit(orphan.close)

    def _held_sandboxes(self) -> dict[str, NodeSandbox]:
        """Looked for whatever this server's settings are now: one kept before a restart with other
        settings still holds attempts to finish, and must end after them."""
        if not self.KEEPS_SANDBOXES:
            return {}
        return held_sandboxes(f"{os.fspath(self._runs_dir)}/nodes")

    def _reattach_attempts(self, attempts: Sequence[AttachedAttempt]) -> None:
        alive = running_wrappers() if attempts else {}
        self._exits.expect(a.spec.attempt_pk for a in attempts)
        by_node: dict[str, list[AttemptSpec]] = {}
        for attached in sorted(attempts, key=lambda a: a.spec.attempt_pk):
            self._launched.add(attached.spec.attempt_pk)
            by_node.setdefault(attached.spec.node_id, []).append(attached.spec)
        ended_groups: set[int] = set()
        for node_id, specs in by_node.items():
            ended_groups |= self._reattach_node(node_id, specs, alive)
        self._clear_ended(ended_groups)

    def _clear_ended(self, groups: set[int]) -> None:
        """Kill what the attempts that ended while the server was away left in their process groups."""
        _kill_leftovers(groups)

    def _reattach_node(
        self, node_id: str, specs: list[AttemptSpec], alive: dict[tuple[str, int], Alive]
    ) -> set[int]:
        """Returns the process groups of attempts that ended, to be cleared."""
        node = self._nodes.get(node_id)
        if node is None:
            for spec in specs:
                self._report(spec, None, Failure.SYSTEM, LOST)
            return set()
        found = []
        for spec in specs:
            paths = AttemptPaths.of(self._runs_dir, spec.job_id, spec.attempt_pk)
            running = alive.get((journal_path(paths.job_folder), spec.attempt_pk))
            ended = None if running is not None else self._exits.exit(paths.job_folder, spec.attempt_pk)
            begun = (
                running is not None
                or ended is not None
                or self._exits.begun(paths.job_folder, spec.attempt_pk)
            )
            found.append((spec, paths, running, ended, begun))
        last_begun = max((i for i, entry in enumerate(found) if entry[4]), default=-1)
        groups = set()
        for i, (spec, paths, running, ended, _) in enumerate(found):
            if i > last_begun:
                node.waiting.append(spec)
            elif running is not None and self._watch_again(node, spec, paths, running):
                continue
            else:
                # A wrapper that ended just after the scan of /proc journaled its end meanwhile.
                ended = ended or self._exits.exit(paths.job_folder, spec.attempt_pk)
                pid = ended.pid if ended is not None else self._exits.begun(paths.job_folder, spec.attempt_pk)
                if pid is not None:
                    groups.add(pid)
                node.current = spec.attempt_pk
                self._conclude(spec, paths, ended, node.workspace if i == last_begun else None)
        if node.current is None:
            self._start_next(node)
        return groups

    def _watch_again(self, node: _Node, spec: AttemptSpec, paths: AttemptPaths, alive: Alive) -> bool:
        try:
            pidfd = os.pidfd_open(alive.pid)
        except ProcessLookupError:
            return False
        log.info("re-attached attempt %s (pid %s)", spec.attempt_pk, alive.pid)
        node.current = spec.attempt_pk
        self._emit(AttemptStarted(spec.attempt_pk, time.time(), f"pid:{alive.pid}"))
        self._watch(_Running(spec, paths, node.workspace, alive.pid, pidfd, own_child=False, started=None))
        return True

    async def usage(self) -> Sequence[Usage]:
        """One pass over ``/proc`` in the I/O pool, for the attempts running when asked."""
        running = self._running_on_nodes()
        return await self._loop_or_fail().run_in_executor(self._io, self._measure, running, self._totals)

    def _running_on_nodes(self) -> list[tuple[_Running, Resources]]:
        return [
            (a, self._nodes[a.spec.node_id].resources)
            for a in self._running.values()
            if a.spec.node_id in self._nodes
        ]

    def _measure(self, running: list[tuple[_Running, Resources]], totals_of: TotalsOf) -> list[Usage]:
        totals = totals_of([attempt for attempt, _ in running])
        disks = {attempt.workspace.workdir: disk_percent(attempt.workspace.workdir) for attempt, _ in running}
        now = time.time()
        readings = [
            Reading(
                a.spec.attempt_pk,
                now,
                t.cpu_seconds,
                t.memory_bytes,
                disks[a.workspace.workdir],
                node,
                a.started,
            )
            for a, node in running
            if (t := totals.get(a.spec.attempt_pk)) is not None
        ]
        return self._meter.shares(readings)

    def _totals(self, attempts: list[_Running]) -> dict[int, Totals]:
        """By attempt: what its wrapper's session uses (absent: it has ended)."""
        by_session = session_totals({attempt.pid for attempt in attempts})
        return {a.spec.attempt_pk: t for a in attempts if (t := by_session.get(a.pid)) is not None}

    def log_tail(self, ref: LogRef, stream: str, limit: int) -> bytes | None:
        """From the node while the attempt runs, else from its own file (absent when it wrote nothing).

        A log that ends just between the two reads has been renamed to the attempt's file already.
        """
        running = self._running.get(ref.attempt_pk)
        tail = None if running is None else read_tail(running.workspace.log(stream), limit)
        if tail:
            return tail
        kept = AttemptPaths.of(self._runs_dir, ref.job_id, ref.attempt_pk)
        return read_tail(kept.stdout if stream == "stdout" else kept.stderr, limit)

    def forget_job(self, job_id: str) -> None:
        shutil.rmtree(f"{os.fspath(self._runs_dir)}/{job_id}", ignore_errors=True)
        self._job_folders.discard(job_id)

    def _workspace(self, node_id: str) -> Workspace:
        sandbox = self._isolation.sandbox
        owner = None if sandbox is None else (sandbox.uid, sandbox.gid)
        return Workspace(f"{os.fspath(self._runs_dir)}/nodes/{node_id}", owner)

    def _new_node(self, node_id: str, workspace: Workspace, resources: Resources) -> _Node:
        """A node with its environment and its cgroup (made, or taken back after a restart); a cgroup
        that cannot be made leaves the node without a memory limit rather than without a node."""
        sandbox, cgroups = self._isolation.sandbox, self._isolation.cgroups
        env = self._node_env if sandbox is None else sandbox.environment(workspace.workdir)
        cgroup = None
        if cgroups is not None:
            try:
                cgroup = cgroups.node(node_id, resources.memory_gib * 2**30)
            except OSError as exc:
                log.warning("node %s runs without a memory limit: its cgroup failed: %s", node_id, exc)
        return _Node(workspace, resources, env, cgroup, None if cgroup is None else cgroup.oom_kills())

    def _kill_hard(self, attempt_pk: int) -> None:
        self._hard_kills.pop(attempt_pk, None)
        attempt = self._running.get(attempt_pk)
        if attempt is not None:
            _signal_group(attempt.pid, signal.SIGKILL)

    def _queue(self, spec: AttemptSpec) -> None:
        node = self._nodes.get(spec.node_id)
        if node is None:
            reason = f"The compute node {spec.node_id} is not on this machine; the command did not run."
            self._report(spec, None, Failure.SYSTEM, reason)
            return
        node.waiting.append(spec)
        self._start_next(node)

    def _start_next(self, node: _Node) -> None:
        """Start the node's next attempt; one that cannot start is reported, and the next one tried.
        While one runs, the data of the one after it is staged."""
        while node.ready and node.current is None and node.waiting:
            spec = node.waiting.popleft()
            node.current = spec.attempt_pk
            self._launch_one(spec, node.workspace)
        self._stage_ahead(node)

    def _stage_ahead(self, node: _Node) -> None:
        """Stage the next waiting attempt's inputs and package (in the I/O pool) while the node is busy:
        it then starts with renames instead of downloads. One at a time: the node's ahead folders are
        taken from the staging's start until its attempt has moved the data in, or it is dropped."""
        if not self.MOVES_DATA or node.ahead is not None or node.current is None or not node.waiting:
            return
        spec = node.waiting[0]
        if not spec.data.fetches:
            return
        data = NodeData.of(node.workspace.workdir)
        version_of = self._versions.lookup(spec.job_id, spec.task_name, spec.data)
        staged = self._loop_or_fail().run_in_executor(
            self._io, stage_ahead, self._store, spec.data, data, version_of
        )
        node.ahead = _Ahead(spec.attempt_pk, staged)

    def _release_ahead(self, node: _Node, ahead: _Ahead) -> None:
        """The node's ahead folders are free: the next waiting attempt's data may be staged there."""
        if node.ahead is ahead:
            node.ahead = None
            self._stage_ahead(node)

    def _drop_ahead(self, node: _Node, attempt_pk: int) -> None:
        """The attempt will not take the data staged for it; the folders are free once that staging ends."""
        ahead = node.ahead
        if ahead is not None and ahead.attempt_pk == attempt_pk:
            ahead.staged.add_done_callback(lambda _: self._release_ahead(node, ahead))

    def _take_ahead(self, node: _Node, spec: AttemptSpec) -> asyncio.Future[None] | None:
        """The staging of this attempt's data begun ahead, if any (its folders stay taken until the
        attempt has moved the data in, ``_staged``); one begun for another attempt is dropped."""
        ahead = node.ahead
        if ahead is None:
            return None
        if ahead.attempt_pk != spec.attempt_pk:
            self._drop_ahead(node, ahead.attempt_pk)
            return None
        return ahead.staged

    def _launch_one(self, spec: AttemptSpec, workspace: Workspace) -> None:
        """Stage the attempt's data and make its node's sandbox (in the I/O pool, if it needs either),
        then spawn its wrapper."""
        if not spec.data.empty:
            spec = replace(spec, binds=spec.binds + binds(spec.data, NodeData.of(workspace.workdir)))
        node = self._nodes[spec.node_id]
        wanted = self._sandbox_wanted(node, spec, workspace)
        if spec.data.empty and wanted is None:
            self._spawn_one(spec, workspace)
            return
        stale = None
        if wanted is not None:  # the sandbox it keeps will not do: it goes, in the pool, before the new one
            stale, node.held = node.held, None
        self._staging[spec.attempt_pk] = False
        ahead = self._take_ahead(node, spec)

        def prepare(staged: asyncio.Future[None] | None) -> None:
            error = None if staged is None else staged.exception()
            future = self._loop_or_fail().run_in_executor(
                self._io, self._prepare, spec, workspace, stale, wanted, staged is not None, error
            )
            future.add_done_callback(lambda done: self._staged(spec, workspace, done))

        if ahead is None:
            prepare(None)
        else:
            ahead.add_done_callback(prepare)

    def _sandbox_wanted(self, node: _Node, spec: AttemptSpec, workspace: Workspace) -> tuple[str, ...] | None:
        """The command line of the sandbox the node must make for this attempt to enter; None if the
        one it keeps will do, or if the attempt makes its own."""
        line = self._held_line(spec, workspace)
        held = node.held
        if line is None or (held is not None and held.argv == line and held.reusable and held.alive()):
            return None
        return line

    def _held_line(self, spec: AttemptSpec, workspace: Workspace) -> tuple[str, ...] | None:
        """The command line of the node sandbox this attempt can run in; None if it makes its own: no
        sandbox can be kept, or RedirectLocalInfo shows it the node's log files, which are made anew
        for every attempt (a kept sandbox would show the last one's)."""
        sandbox = self._isolation.sandbox
        if not self.KEEPS_SANDBOXES or sandbox is None or sandbox.enter_tools is None:
            return None
        if workspace.log_binds(spec.redirect):
            return None
        return holder_argv(sandbox, workspace.workdir, spec.binds)

    def _prepare(
        self,
        spec: AttemptSpec,
        workspace: Workspace,
        stale: NodeSandbox | None,
        wanted: tuple[str, ...] | None,
        ahead: bool = False,
        ahead_error: BaseException | None = None,
    ) -> NodeSandbox | None:
        """In the I/O pool: the attempt's data in place (``ahead``: staged already, moved in), and the
        node's new sandbox made for it (its old one ended), if it needs one. One that cannot be made
        is said in the log, and the attempt runs in a sandbox of its own."""
        if stale is not None:
            stale.close()
        if ahead_error is not None:
            raise ahead_error
        if ahead:
            take_staged(NodeData.of(workspace.workdir))
        elif not spec.data.empty:
            version_of = self._versions.lookup(spec.job_id, spec.task_name, spec.data)
            stage_in(self._store, spec.data, NodeData.of(workspace.workdir), version_of)
        sandbox = self._isolation.sandbox
        if wanted is None or sandbox is None:
            return None
        self._hand_over_binds(spec)
        try:
            return hold(wanted, sandbox.environment(workspace.workdir))
        except HoldFailed as exc:
            log.warning("node %s: %s; its attempt makes a sandbox of its own", spec.node_id, exc)
            return None

    def _staged(
        self, spec: AttemptSpec, workspace: Workspace, done: asyncio.Future[NodeSandbox | None]
    ) -> None:
        """Run the attempt whose data and sandbox are in place, unless it was cancelled or its
        staging failed."""
        cancelled = self._staging.pop(spec.attempt_pk)
        error = done.exception()
        made = None if error is not None else done.result()
        node = self._nodes.get(spec.node_id)
        if node is not None and node.ahead is not None and node.ahead.attempt_pk == spec.attempt_pk:
            self._release_ahead(node, node.ahead)  # its data has been moved in, or will never be
        if made is not None:
            if node is None or node.held is not None:
                self._io.submit(made.close)
            else:
                node.held = made
        if not cancelled and error is None:
            self._spawn_one(spec, workspace, start_next=True)
            return
        if cancelled or error is None:
            outcome = (Failure.USER, CANCELLED_BEFORE_START)
        elif isinstance(error, StagingFailed):
            outcome = (error.failure, error.reason)
        else:
            outcome = classify_error(error, "The attempt's data could not be staged")
        future = self._loop_or_fail().run_in_executor(self._io, _clear_data, workspace)
        future.add_done_callback(lambda _: self._report(spec, None, *outcome))

    def _spawn_one(self, spec: AttemptSpec, workspace: Workspace, start_next: bool = False) -> None:
        """Spawn the attempt's wrapper; an attempt that cannot be spawned is reported at once (and its
        node's next attempt started only if ``start_next``: the loop in ``_start_next`` does it)."""
        paths = AttemptPaths.of(self._runs_dir, spec.job_id, spec.attempt_pk)
        try:
            if spec.job_id not in self._job_folders:
                paths.ensure_folder()
                if len(self._job_folders) >= _JOB_FOLDERS_REMEMBERED:
                    self._job_folders.clear()
                self._job_folders.add(spec.job_id)
            pid = self._spawn(spec, paths, workspace)
        except Exception as exc:  # whatever one attempt meets ends that attempt, never the scheduler
            failure = classify_error(exc, "The command could not be started")
            self._report(spec, None, *failure, start_next=start_next)
            return
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:  # cannot happen to an unreaped child; if it does, wait for it the slow way
            os.waitpid(pid, 0)
            self._report(spec, None, Failure.SYSTEM, LOST, start_next=start_next)
            return
        self._emit(AttemptStarted(spec.attempt_pk, time.time(), f"pid:{pid}"))
        self._watch(_Running(spec, paths, workspace, pid, pidfd, own_child=True, started=time.time()))

    def _spawn(self, spec: AttemptSpec, paths: AttemptPaths, workspace: Workspace) -> int:
        """posix_spawn (vfork + exec in libc) in a new session, logs opened by the child itself: the
        sandbox gets them as inherited descriptors, never as paths."""
        node = self._nodes[spec.node_id]
        self._hand_over_binds(spec)
        cgroup = "" if node.cgroup is None else node.cgroup.procs
        entry = self._entry(node, spec)
        wrapper, env = self._wrapper(spec, paths, workspace, node.env, cgroup, held=entry)
        if entry is not None and node.held is not None:
            self._entered[spec.attempt_pk] = node.held
        return os.posix_spawn(
            "/bin/sh",
            wrapper,
            env,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, workspace.stdout, _LOG_FLAGS, 0o644),
                (os.POSIX_SPAWN_OPEN, 2, workspace.stderr, _LOG_FLAGS, 0o644),
            ],
            setsid=True,
        )

    def _hand_over_binds(self, spec: AttemptSpec) -> None:
        sandbox = self._isolation.sandbox
        if sandbox is not None:
            for bind in spec.binds:
                if bind.writable:
                    sandbox.hand_over(bind.source)

    def _entry(self, node: _Node, spec: AttemptSpec) -> list[str] | None:
        """The line that enters the node's kept sandbox, if the attempt runs in it (None: its own).

        A sandbox found dead is let go: this attempt makes its own, the next one a new node sandbox.
        """
        held, sandbox = node.held, self._isolation.sandbox
        if held is None or sandbox is None or not held.reusable:
            return None
        if held.argv != self._held_line(spec, node.workspace):
            return None
        if not held.alive():
            self._let_go(node)
            return None
        return sandbox.entry_argv(held.init)

    def _let_go(self, node: _Node) -> None:
        """End the node's kept sandbox (in the I/O pool: it waits for its processes to end)."""
        held, node.held = node.held, None
        if held is not None:
            self._io.submit(held.close)

    def _wrapper(
        self,
        spec: AttemptSpec,
        paths: AttemptPaths,
        workspace: Workspace,
        node_env: dict[str, str],
        cgroup: str = "",
        runner: Sequence[str] = (),
        held: Sequence[str] | None = None,
    ) -> tuple[list[str], dict[str, str]]:
        """The launch wrapper's command line and environment: the command in the sandbox where there is
        one (``held``: the line entering the node's kept sandbox; else one of its own), after
        ``runner`` (the runner program, where it moves the attempt's data on the node)."""
        sandbox = self._isolation.sandbox
        command_line: Sequence[str]
        if sandbox is None:
            command_line, command, env = (), spec.command, attempt_environment(spec, node_env)
        else:
            mounts = (*spec.binds, *workspace.log_binds(spec.redirect))
            command_line = held if held is not None else sandbox.argv(workspace.workdir, mounts)
            command, env = sandboxed_attempt(spec, node_env)
        journal = journal_path(paths.job_folder)
        line = [*runner, *command_line]
        return wrapper_argv(spec.attempt_pk, journal, command, workspace.workdir, cgroup, line), env

    def _loop_or_fail(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("LocalExecutor.start() was not awaited")
        return self._loop

    def _watch(self, attempt: _Running) -> None:
        self._running[attempt.spec.attempt_pk] = attempt
        self._loop_or_fail().add_reader(attempt.pidfd, self._on_exit, attempt)

    def _unwatch(self, attempt: _Running) -> None:
        self._loop_or_fail().remove_reader(attempt.pidfd)
        os.close(attempt.pidfd)
        del self._running[attempt.spec.attempt_pk]

    def _on_exit(self, attempt: _Running) -> None:
        """Like a node destroyed after its instance, nothing the command left behind survives it."""
        self._unwatch(attempt)
        memory_gib = self._out_of_memory(attempt.spec.node_id)
        if not attempt.own_child:
            _kill_leftovers({attempt.pid})
            self._empty_cgroup(attempt.spec.node_id)
            ended = self._exits.exit(attempt.paths.job_folder, attempt.spec.attempt_pk)
            self._conclude(attempt.spec, attempt.paths, ended, attempt.workspace, memory_gib)
            return
        # Not reaped yet, so the process group's number cannot be reused by anyone else.
        _signal_group(attempt.pid, signal.SIGKILL)
        self._empty_cgroup(attempt.spec.node_id)
        _, status = os.waitpid(attempt.pid, 0)
        returncode = os.waitstatus_to_exitcode(status)
        # The wrapper exits with the command's code; a negative code means it was killed itself.
        exit_code, killed_by = (returncode, None) if returncode >= 0 else (None, -returncode)
        failure, reason = classify_exit(exit_code, killed_by, memory_gib)
        held = self._entered.pop(attempt.spec.attempt_pk, None)
        if held is not None and failure is not Failure.NONE and not held.alive():
            failure, reason = Failure.SYSTEM, SANDBOX_ENDED
        self._finish(attempt.spec, attempt.paths, attempt.workspace, exit_code, failure, reason)

    def _out_of_memory(self, node_id: str) -> int | None:
        """The node's memory (GiB) if its cgroup counted an OOM kill during the attempt that just ended.

        Counted from the end of the node's previous attempt (or from when this server made or took it
        back): a node runs one attempt at a time, so a kill in between is this attempt's.
        """
        node = self._nodes.get(node_id)
        if node is None or node.cgroup is None:
            return None
        before, node.oom_kills = node.oom_kills, node.cgroup.oom_kills()
        grew = before is not None and node.oom_kills is not None and node.oom_kills > before
        return node.resources.memory_gib if grew else None

    def _empty_cgroup(self, node_id: str) -> None:
        """Kill what the attempt left in its node's cgroup: ``setsid`` daemons leave its process group,
        never its cgroup (in the sandbox they also die with its PID namespace)."""
        node = self._nodes.get(node_id)
        if node is not None and node.cgroup is not None:
            node.cgroup.kill_all()

    def _conclude(
        self,
        spec: AttemptSpec,
        paths: AttemptPaths,
        ended: Exit | None,
        workspace: Workspace | None,
        memory_gib: int | None = None,
    ) -> None:
        """End an attempt known only from its journal line (after a restart), or as lost without one.

        ``workspace``: where its logs still are, if it was the last attempt of its node to run.
        ``memory_gib``: given if its node's cgroup counted an OOM kill since the server re-attached it.
        """
        if ended is None:
            self._report(spec, None, Failure.SYSTEM, LOST)
            return
        failure, reason = classify_exit(ended.code, None, memory_gib)
        if workspace is None:
            self._report(spec, ended.code, failure, reason)
            return
        self._finish(spec, paths, workspace, ended.code, failure, reason)

    def _finish(
        self,
        spec: AttemptSpec,
        paths: AttemptPaths,
        workspace: Workspace,
        exit_code: int | None,
        failure: Failure,
        reason: str,
    ) -> None:
        """Keep the logs, upload what is redirected and empty a dirty workspace, then report."""
        try:
            workspace.keep_logs(paths.stdout, paths.stderr)
        except OSError as exc:  # the node's disk failed us, not the command
            log.warning("logs of attempt %s could not be kept: %s", spec.attempt_pk, exc)
            self._report(spec, exit_code, failure, reason, classify_error(exc, "The logs could not be kept"))
            return
        dirty = not workspace.is_clean() or not spec.data.empty
        if spec.redirect.stdout is None and spec.redirect.stderr is None and not dirty:
            self._report(spec, exit_code, failure, reason)
            return
        future = self._loop_or_fail().run_in_executor(
            self._io, self._upload_and_reset, spec, paths, workspace, dirty
        )
        future.add_done_callback(lambda done: self._report(spec, exit_code, failure, reason, done.result()))

    def _upload_and_reset(
        self, spec: AttemptSpec, paths: AttemptPaths, workspace: Workspace, dirty: bool
    ) -> tuple[Failure, str] | None:
        """Upload outputs and logs even when the command failed; return how the first upload failed,
        or which outputs the command did not make."""
        try:
            failure = None
            if self.MOVES_DATA:
                failure = save_outputs(self._store, spec.data, NodeData.of(workspace.workdir))
            upload_logs(spec, paths, self._store)
        except Exception as exc:  # any storage failure is reported as data, classified once
            log.warning("log upload of attempt %s failed: %s", spec.attempt_pk, exc)
            return classify_error(exc, "The logs could not be uploaded")
        finally:
            if dirty:
                _clear_data(workspace)
        return failure

    def _report(
        self,
        spec: AttemptSpec,
        exit_code: int | None,
        failure: Failure,
        reason: str,
        log_failure: tuple[Failure, str] | None = None,
        start_next: bool = True,
    ) -> None:
        """``log_failure`` (keeping or uploading logs failed) decides only for a command that succeeded.

        The attempt's node is free once it is reported: its next attempt starts (unless the caller is
        the loop that starts them, ``start_next=False``).
        """
        self._launched.discard(spec.attempt_pk)
        self._entered.pop(spec.attempt_pk, None)
        if log_failure is not None and failure is Failure.NONE:
            failure, reason = log_failure
        self._emit(AttemptFinished(spec.attempt_pk, time.time(), exit_code, failure, reason))
        node = self._nodes.get(spec.node_id)
        if node is not None and node.current == spec.attempt_pk:
            node.current = None
            if node.held is not None and not node.held.untouched():
                self._let_go(node)  # the attempt left something in it: the next one gets a fresh one
            if start_next:
                self._start_next(node)

    def _emit(self, event: Event) -> None:
        if self._sink is not None:
            self._sink(event)


def _clear_data(workspace: Workspace) -> None:
    """Empty the working folder and the node's data area for the next attempt."""
    workspace.reset()
    NodeData.of(workspace.workdir).clear()


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


def _terminate_groups(pgids: AbstractSet[int]) -> None:
    for pgid in pgids:
        _signal_group(pgid, signal.SIGTERM)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the attempt's whole process group (the wrapper made itself its leader)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
