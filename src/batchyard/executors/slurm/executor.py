"""Compute nodes on a Slurm cluster: a node is an allocation (a "pilot" job named after the node id,
holding its instance type's CPUs, memory and GPUs), and each of its attempts one job step in it.

Attempts run as on this machine (``executors.local``), one at a time per node, through the same launch
wrapper and sandbox, except that the wrapper starts on the node through ``srun --jobid``: the server
keeps the ``srun`` client as its child and learns the end when it exits, and the exit code from the
job's journal, which the wrapper writes on the node (the data dir is on a filesystem the nodes share,
as Slurm's own working folders usually are). An attempt with data runs the runner program
(``runner.main``) inside the wrapper, which stages on the node and leaves an outcome file.

Slurm is asked with its own tools from one worker thread: one ``squeue`` per poll for every pilot
(ready, failed or lost), one ``scancel`` for all the steps being cancelled, never one call per
attempt. Pilots carry a comment naming this server's data dir, so nothing else on the cluster is
taken for ours. After a restart, pilots are found again by name and ``srun`` clients by their
command line (they run in sessions of their own and outlive the server); an attempt whose client is
gone is concluded from the journal, as on this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import ipaddress
import logging
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

from batchyard.domain.attempts import AttemptSpec, Failure
from batchyard.domain.resources import Resources
from batchyard.executors.base import (
    AttachedAttempt,
    AttachedNode,
    EventSink,
    Host,
    HostsChanged,
    NodeFailed,
    NodeLost,
    NodeReady,
    NodeSpec,
    Usage,
)
from batchyard.executors.local import LocalExecutor, _Node, _Running
from batchyard.executors.slurm import known_nodes
from batchyard.executors.slurm.tools import (
    ENDED,
    ControllerAway,
    Pilot,
    SlurmError,
    SlurmJob,
    SlurmNode,
    SlurmTools,
    by_name,
    controller_away,
)
from batchyard.runner.exits import Exit
from batchyard.runner.logs import read_tail
from batchyard.runner.main import Order, Outcome
from batchyard.runner.outcome import LOST, SHELL_SIGNAL_BASE, classify_exit
from batchyard.runner.paths import AttemptPaths
from batchyard.runner.sandbox import NO_ISOLATION, Isolation
from batchyard.runner.staging import NodeData, binds
from batchyard.runner.usage import Totals
from batchyard.runner.workspace import Workspace
from batchyard.storage.store import ObjectStore

log = logging.getLogger(__name__)

_STEP_PREFIX = "attempt-"
_HANDLE_PREFIX = "slurm:"  # a node's durable handle: this and its pilot's job id
LOST_WITH_NODE = "The compute node's Slurm allocation ended while the attempt ran on it."
UNRESPONSIVE = "A job step on the node's Slurm allocation ended without an exit code; the node is given up."
# For this long after a pilot is submitted, look every _EAGER_POLL_S: slurmctld's scheduling pass
# starts most within a second, and each look costs it one squeue of our own jobs.
_EAGER_S = 2.0
_EAGER_POLL_S = 0.03
_LOST_SRUN_GRACE_S = 10.0  # how long an srun may outlive its lost node before it is killed
# The step's first process: the rest of its line runs with its output in the node's log files ($1, $2).
_TO_LOGS = ("/bin/sh", "-c", 'exec >"$1" 2>"$2"; shift 2; exec "$@"', "batchyard-logs")
# What slurmstepd writes to a step's output when it kills the step, or a process of it, for memory
# (jobacct_gather's OverMemoryKill; task/cgroup's OOM killer); and how far back to look.
_MEMORY_KILLS = (b"exceeded memory limit", b"oom-kill event")
_LOG_TAIL_BYTES = 4096  # how much of a step daemon's or srun's output is read
_SIGKILLED = SHELL_SIGNAL_BASE + signal.SIGKILL  # the exit code of a SIGKILLed command, as a shell says


@dataclass(frozen=True)
class SlurmSettings:
    partition: str | None
    poll_s: float  # how often pilots are looked at while any is pending or being cancelled
    idle_poll_s: float  # how often otherwise (to notice lost ones)
    hosts_poll_s: float  # how often the partition's nodes are read again (added, removed, resized)
    env: Mapping[str, str]  # the environment Slurm's tools run in (SLURM_CONF among it)


class SlurmExecutor(LocalExecutor):
    MOVES_DATA: ClassVar[bool] = False  # the runner on the node stages and uploads them
    KEEPS_SANDBOXES = False  # each step's runner makes the attempt's own, on the node

    def __init__(
        self,
        runs_dir: Path,
        store: ObjectStore,
        settings: SlurmSettings,
        store_settings: Path,
        kill_grace_s: float = 5.0,
        isolation: Isolation = NO_ISOLATION,
    ) -> None:
        """``store_settings``: the file the runner reads to reach the store (the server writes it)."""
        # Slurm's own cgroups (TaskPlugin=task/cgroup) hold steps to their allocation, not ours.
        super().__init__(
            runs_dir, store, Host("slurm", Resources(0, 0)), kill_grace_s, replace(isolation, cgroups=None)
        )
        self._tools = SlurmTools(settings.partition, settings.env)
        self._settings = settings
        self._store_settings = store_settings
        self._comment = pilot_comment(runs_dir)
        self._hosts: list[Host] = []
        self.elsewhere: list[str] = []  # the partition's nodes on other machines than this one
        self._known_nodes = runs_dir / "slurm-nodes.json"
        self._hosts_read = True  # False while the hosts are those kept from an earlier start
        if not self._adopt(self._first_nodes()):
            missing = f"partition {settings.partition}" if settings.partition else "default partition"
            raise SlurmError(f"its {missing} has no nodes; name one that has with --slurm-partition")
        # When the hosts are next read: at the first look if they were not read now.
        self._hosts_due = time.monotonic() + (settings.hosts_poll_s if self._hosts_read else 0.0)
        self._slurm = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slurm")
        self._pilots: dict[str, str | None] = {}  # node id -> its job id (None until it is known)
        self._asking: set[str] = set()  # nodes whose allocation is being asked for (salloc, sbatch)
        # Nodes whose asking the controller did not answer: asked again at the next look it answers. What
        # it made of those requests, if it read them late, is cancelled as strays: a late ``salloc``'s
        # allocation, which the controller kills itself as it cannot answer, is no pilot to take.
        self._unanswered: set[str] = set()
        self._cancelled: set[str] = set()  # pilots cancelled, until squeue shows them ended
        # Attempts being cancelled -> when their steps are due SIGKILL (None: SIGTERM not sent yet).
        self._terminating: dict[int, float | None] = {}
        # Failed steps waiting for the next look at their pilots: a step also fails when its node ends.
        self._unconfirmed: dict[int, tuple[_Running, Exit | None]] = {}
        self._srun = shutil.which("srun", path=settings.env.get("PATH")) or "srun"
        # What srun needs of the server's environment (SLURM_CONF); it passes its own on to the step.
        self._srun_env = {k: v for k, v in settings.env.items() if k.startswith("SLURM_")}
        self._poller: asyncio.Task[None] | None = None
        self._poke = asyncio.Event()
        self._eager_until = 0.0  # looks come every _EAGER_POLL_S until then

    def hosts(self) -> Sequence[Host]:
        return self._hosts

    def _first_nodes(self) -> list[SlurmNode]:
        """The partition's nodes at start-up; if the controller does not answer, those an earlier start
        read (kept in the runs folder), so a server restarted with its cluster still starts."""
        try:
            return self._tools.nodes()
        except SlurmError as exc:
            kept = known_nodes.load(self._known_nodes)
            if not kept:
                raise SlurmError(f"{exc} (and no earlier start of this server read its partition)") from None
            log.warning(
                "Slurm did not list the partition's nodes at start-up; taking the %d it had when last read,"
                " and reading them again until it answers: %s",
                len(kept),
                exc,
            )
            self._hosts_read = False
            return kept

    def _adopt(self, nodes: Sequence[SlurmNode]) -> bool:
        """Take the partition's nodes as the hosts if they changed, and keep them for a start while
        the controller does not answer; whether they changed."""
        self.elsewhere = sorted(n.name for n in nodes if not _this_machine(n.address))
        hosts = [Host(n.name, n.capacity) for n in nodes]
        if hosts == self._hosts:
            return False
        self._hosts = hosts
        if self._hosts_read:
            known_nodes.save(self._known_nodes, nodes)
        return True

    async def start(self, sink: EventSink) -> None:
        await super().start(sink)
        self._poller = asyncio.create_task(self._poll_forever())

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        self._slurm.shutdown(wait=True)
        await super().stop()

    async def usage(self) -> Sequence[Usage]:
        """What Slurm's accounting says each running step has used: one ``squeue`` and one ``sstat``
        for all of them, in the Slurm thread. A cluster that gathers nothing (``JobAcctGatherType=
        jobacct_gather/none``), or a step not sampled yet, gives no figure: DescribeJobMonitorData
        answers nulls for it."""
        running = self._running_on_nodes()
        pilots = {a.spec.attempt_pk: job for a, _ in running if (job := self._pilots.get(a.spec.node_id))}
        if not pilots:
            return ()
        totals_of = functools.partial(self._step_totals, pilots)
        return await self._loop_or_fail().run_in_executor(self._slurm, self._measure, running, totals_of)

    def _step_totals(self, pilots: dict[int, str], _attempts: list[_Running]) -> dict[int, Totals]:
        """``pilots``: the job id of each attempt's node, by attempt pk (the attempts measured)."""
        try:
            steps = self._tools.steps(pilots.values())
            ids = {pk: steps[name] for pk in pilots if (name := f"{_STEP_PREFIX}{pk}") in steps}
            used = self._tools.step_usage(ids.values())
        except SlurmError as exc:
            log.warning("Slurm did not say what running steps use: %s", exc)
            return {}
        return {pk: used[step] for pk, step in ids.items() if step in used}

    # Nodes

    def provision(self, nodes: Sequence[NodeSpec]) -> None:
        for node in nodes:
            if not any(host.capacity.fits(node.resources) for host in self._hosts):
                reason = f"No node of the Slurm partition can hold {node.resources}."
                self._emit(NodeFailed(node.node_id, time.time(), reason))
                continue
            workspace = self._workspace(node.node_id)
            try:
                workspace.reset()
            except OSError as exc:
                self._emit(NodeFailed(node.node_id, time.time(), f"The node's workspace failed: {exc}."))
                continue
            self._nodes[node.node_id] = self._pilot_node(node.node_id, workspace, node.resources)
            self._pilots[node.node_id] = None
            self._ask(node.node_id, node.resources)

    def _ask(self, node_id: str, resources: Resources) -> None:
        """Ask the controller for the node's allocation, in the Slurm thread."""
        self._asking.add(node_id)
        future = self._slurm.submit(self._tools.submit_pilot, node_id, resources, self._comment)
        future.add_done_callback(functools.partial(self._on_submitted, node_id))

    def _on_submitted(self, node_id: str, done: Future[Pilot]) -> None:
        """In the Slurm thread: hand the answer to the event loop."""
        self._loop_or_fail().call_soon_threadsafe(self._submitted, node_id, done)

    def _submitted(self, node_id: str, done: Future[Pilot]) -> None:
        self._asking.discard(node_id)
        try:
            pilot = done.result()
        except ControllerAway as exc:
            if node_id in self._pilots:  # not retired meanwhile
                self._unanswered.add(node_id)
                log.warning("Slurm did not answer for node %s; asked again once it does: %s", node_id, exc)
            return
        except SlurmError as exc:
            self._drop_node(node_id)
            self._emit(NodeFailed(node_id, time.time(), f"The node's allocation was refused: {exc}."))
            return
        if node_id not in self._pilots:  # retired while Slurm was asked
            self._cancel_pilots([pilot.job_id])
            return
        self._pilots[node_id] = pilot.job_id
        if pilot.running:
            self._started(node_id, pilot.job_id)
        else:
            self._eager_until = time.monotonic() + _EAGER_S
            self._poke.set()

    def _started(self, node_id: str, job_id: str) -> None:
        node = self._nodes[node_id]
        if not node.ready:
            node.ready = True
            self._emit(NodeReady(node_id, time.time(), f"{_HANDLE_PREFIX}{job_id}"))
            self._start_next(node)

    def retire(self, node_ids: Sequence[str]) -> None:
        jobs = [job for node_id in node_ids if (job := self._pilots.pop(node_id, None)) is not None]
        self._unanswered.difference_update(node_ids)
        workspaces = [node.workspace for node_id in node_ids if (node := self._nodes.get(node_id))]
        super().retire(node_ids)
        self._cancel_pilots(jobs)
        for workspace in workspaces:
            self._io.submit(_remove_step_logs, workspace)

    def _pilot_node(self, node_id: str, workspace: Workspace, resources: Resources) -> _Node:
        node = self._new_node(node_id, workspace, resources)
        node.ready = False
        return node

    def _drop_node(self, node_id: str) -> None:
        """The node is gone: attempts waiting for it are lost with it (its running one ends by itself),
        and so is what is left of its allocation (one requeued, or suspended)."""
        job_id = self._pilots.pop(node_id, None)
        self._unanswered.discard(node_id)
        if job_id is not None:
            self._cancel_pilots([job_id])
        node = self._nodes.pop(node_id, None)
        if node is None:
            return
        for spec in node.waiting:
            self._report(spec, None, Failure.SYSTEM, LOST)
        node.waiting.clear()
        if node.current is not None:  # its srun notices the node's end; one that does not is ended
            self._loop_or_fail().call_later(_LOST_SRUN_GRACE_S, self._end_srun, node.current)

    def _end_srun(self, attempt_pk: int) -> None:
        running = self._running.get(attempt_pk)
        if running is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(running.pid, signal.SIGKILL)

    # Attempts

    def _launch_one(self, spec: AttemptSpec, workspace: Workspace) -> None:
        """Data is staged by the runner on the node, so every attempt starts at once."""
        if not spec.data.empty:
            spec = replace(spec, binds=spec.binds + binds(spec.data, NodeData.of(workspace.workdir)))
        self._exits.expect([spec.attempt_pk])
        self._spawn_one(spec, workspace)

    def _spawn(self, spec: AttemptSpec, paths: AttemptPaths, workspace: Workspace) -> int:
        """``srun`` into the node's allocation, in a session of its own so it outlives the server. The
        step's first process sends what follows it to the node's log files, as on this machine, so
        they hold what the command wrote and nothing of Slurm's: the step daemon's own messages (a
        kill for memory, its errors) go to the step's output, a file of their own beside them, and
        ``srun``'s to another."""
        node = self._nodes[spec.node_id]
        job_id = self._pilots.get(spec.node_id)
        if job_id is None:
            raise RuntimeError(f"the compute node {spec.node_id} has no allocation")
        runner: list[str] = []
        if not spec.data.empty:
            runner = self._runner_line(spec, paths, workspace)
        wrapper, env = self._wrapper(spec, paths, workspace, node.env, runner=runner)
        argv = [
            *(self._srun, f"--jobid={job_id}", "--nodes=1", "--ntasks=1", "--overlap", "--quiet"),
            f"--cpus-per-task={node.resources.cpu}",
            "--mem=0",  # all the allocation's memory
            f"--job-name={_STEP_PREFIX}{spec.attempt_pk}",
            f"--output={_stepd_log(workspace)}",
            "--input=none",
            *(*_TO_LOGS, workspace.stdout, workspace.stderr),
            *wrapper,
        ]
        return os.posix_spawn(
            self._srun,
            argv,
            {**env, **self._srun_env},
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, _srun_log(workspace), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                (os.POSIX_SPAWN_DUP2, 1, 2),
            ],
            setsid=True,
        )

    def _runner_line(self, spec: AttemptSpec, paths: AttemptPaths, workspace: Workspace) -> list[str]:
        sandbox = self._isolation.sandbox
        order = Order(
            workdir=workspace.workdir,
            data=spec.data,
            store_settings=str(self._store_settings),
            outcome=_outcome_path(paths),
            owner=None if sandbox is None else (sandbox.uid, sandbox.gid),
        )
        order_file = f"{paths.job_folder}/{spec.attempt_pk}.order"
        fd = os.open(order_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(order.to_json())
        return [sys.executable, "-I", "-m", "batchyard.runner", order_file]

    def _on_exit(self, attempt: _Running) -> None:
        """``srun`` ended: the step is over, and the wrapper journaled its exit on the node, unless the
        node was lost before it could."""
        self._unwatch(attempt)
        pk = attempt.spec.attempt_pk
        if attempt.own_child:
            os.waitpid(attempt.pid, 0)
        ended = self._exits.exit(attempt.paths.job_folder, pk)
        if pk in self._terminating:
            del self._terminating[pk]
            if ended is None:  # SIGKILL took the wrapper too, as it does on this machine
                self._report(attempt.spec, None, *classify_exit(None, signal.SIGKILL))
                return
        elif (ended is None or ended.code == _SIGKILLED) and (gib := self._memory_kill(attempt)) is not None:
            failure, reason = classify_exit(_SIGKILLED, None, gib)
            self._finish(attempt.spec, attempt.paths, attempt.workspace, _SIGKILLED, failure, reason)
            return
        elif ended is None or ended.code != 0:
            self._unconfirmed[pk] = (attempt, ended)
            self._poke.set()
            return
        self._confirm(attempt, ended)

    def _step_unanswered(self, attempt: _Running) -> bool:
        """Whether the attempt's step never began because the controller did not answer its ``srun``
        (which asks it to confirm the allocation and to make the step): its command never ran, so it
        is launched again, as a restart launches an attempt that never began."""
        if self._exits.begun(attempt.paths.job_folder, attempt.spec.attempt_pk) is not None:
            return False
        try:
            said = read_tail(_srun_log(attempt.workspace), _LOG_TAIL_BYTES)
        except OSError:
            return False
        return controller_away(said.decode(errors="replace"))

    def _memory_kill(self, attempt: _Running) -> int | None:
        """The node's memory (GiB) if Slurm killed the step for using more, as its step daemon says in
        the step's output: jobacct_gather's ``OverMemoryKill`` kills the whole step (the wrapper too,
        so the node would otherwise look lost under it), task/cgroup's OOM killer the process that
        asked too much."""
        job_id = self._pilots.get(attempt.spec.node_id)
        node = self._nodes.get(attempt.spec.node_id)
        if job_id is None or node is None:
            return None
        try:
            tail = read_tail(_stepd_log(attempt.workspace), _LOG_TAIL_BYTES)
        except OSError:
            return None
        step = f"StepId={job_id}.".encode()
        killed = any(
            line.startswith(b"slurmstepd") and step in line and any(mark in line for mark in _MEMORY_KILLS)
            for line in tail.splitlines()
        )
        return node.resources.memory_gib if killed else None

    def _confirm(self, attempt: _Running, ended: Exit | None) -> None:
        """Conclude an attempt whose node is known to be there, or that its node's end ended.

        A step that left no exit code on a node Slurm still counts as running had its node fail
        under it (a host gone, a slurmd that does not answer): the node is given up and replaced
        at once, rather than handed the next attempt while Slurm takes its time to notice. A step
        that never began because the controller did not answer is launched again instead.
        """
        node_id = attempt.spec.node_id
        if node_id in self._nodes and ended is None:
            if self._step_unanswered(attempt):
                pk = attempt.spec.attempt_pk
                log.warning("attempt %s: Slurm did not answer its srun; launched again", pk)
                self._exits.expect([pk])
                self._spawn_one(attempt.spec, attempt.workspace, start_next=True)
                return
            self._drop_node(node_id)
            self._emit(NodeLost(node_id, time.time(), UNRESPONSIVE))
        if node_id not in self._nodes:
            self._report(attempt.spec, None, Failure.SYSTEM, LOST_WITH_NODE)
            return
        self._conclude(attempt.spec, attempt.paths, ended, attempt.workspace)

    def _conclude(
        self,
        spec: AttemptSpec,
        paths: AttemptPaths,
        ended: Exit | None,
        workspace: Workspace | None,
        memory_gib: int | None = None,
    ) -> None:
        """As on this machine, with what the runner found wrong with the data, if it ran."""
        outcome = Outcome.read(_outcome_path(paths)) if not spec.data.empty else None
        if ended is None or outcome is None:
            super()._conclude(spec, paths, ended, workspace, memory_gib)
            return
        exit_code: int | None = ended.code
        failure, reason = classify_exit(ended.code, None)
        if not outcome.ran:
            exit_code, failure, reason = None, outcome.failure, outcome.reason
        elif failure is Failure.NONE:
            failure, reason = outcome.failure, outcome.reason
        if workspace is None:
            self._report(spec, exit_code, failure, reason)
        else:
            self._finish(spec, paths, workspace, exit_code, failure, reason)

    def cancel(self, attempt_pks: Sequence[int]) -> None:
        """Waiting attempts are dropped here; running ones are ended by cancelling their steps, which
        gives them SIGTERM and then SIGKILL after the cluster's ``KillWait``."""
        targets = set(attempt_pks)
        running = {pk for pk in targets if pk in self._running}
        super().cancel(sorted(targets - running))
        for pk in running:
            self._terminating.setdefault(pk, None)
        if running:
            self._poke.set()

    def _kill_hard(self, attempt_pk: int) -> None:
        """Slurm itself follows a step's SIGTERM with SIGKILL."""

    # Restart

    def reattach(self, nodes: Sequence[AttachedNode], attempts: Sequence[AttachedAttempt]) -> None:
        """Pilots are found by name (a node the server never heard was ready may have one already);
        one that is gone is lost, and allocations of ours no node holds are cancelled."""
        try:
            found = self._tools.jobs(self._comment)
        except SlurmError as exc:  # the poll finds them once the controller answers
            log.warning("Slurm could not be asked for the pilots of before the restart: %s", exc)
            found = None
        jobs = None if found is None else by_name(found)
        for known in nodes:
            node_id = known.spec.node_id
            job = None if jobs is None else jobs.get(node_id)
            if jobs is not None and (job is None or job.state in ENDED):
                self._emit(NodeLost(node_id, time.time(), _gone(job)))
                continue
            workspace = self._workspace(node_id)
            try:
                workspace.make()
            except OSError as exc:
                self._emit(NodeLost(node_id, time.time(), f"The node's workspace failed: {exc}."))
                continue
            node = self._pilot_node(node_id, workspace, known.spec.resources)
            self._nodes[node_id] = node
            if jobs is None:  # as the store last knew it; the poll tells how it is once Slurm answers
                self._pilots[node_id] = _job_id(known.handle)
                node.ready = known.handle is not None
            else:
                self._pilots[node_id] = None if job is None else job.job_id
                node.ready = known.handle is not None and job is not None and job.state == "RUNNING"
        if found is not None:
            self._tools.cancel(self._strays(found))
        self._reattach_attempts([a for a in attempts if a.spec.node_id in self._nodes])
        for attached in attempts:
            if attached.spec.node_id not in self._nodes:
                self._report(attached.spec, None, Failure.SYSTEM, LOST)
        self._poke.set()

    # The poll

    async def _poll_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # asyncio.timeout, not wait_for: in 3.11, wait_for may swallow the cancel that stops this.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._pause()):
                    await self._poke.wait()
            self._poke.clear()
            if time.monotonic() >= self._hosts_due:
                await self._read_hosts(loop)
            if not self._pilots and not self._unconfirmed:
                continue
            now = time.monotonic()
            due = [pk for pk, at in self._terminating.items() if at is None or at <= now]
            try:
                jobs, steps = await loop.run_in_executor(self._slurm, self._look, bool(due))
            except SlurmError as exc:
                log.warning("Slurm did not answer; trying again: %s", exc)
                continue
            self._apply(jobs)
            unconfirmed, self._unconfirmed = self._unconfirmed, {}
            for attempt, ended in unconfirmed.values():
                self._confirm(attempt, ended)
            self._signal_steps(due, steps, now)

    async def _read_hosts(self, loop: asyncio.AbstractEventLoop) -> None:
        """A partition found empty (being reconfigured, or emptied by mistake) keeps the hosts it had,
        so no waiting node fails for want of a host meanwhile."""
        settings = self._settings
        self._hosts_due = time.monotonic() + settings.hosts_poll_s
        try:
            nodes = await loop.run_in_executor(self._slurm, self._tools.nodes)
        except SlurmError as exc:
            log.warning("Slurm did not list the partition's nodes; keeping the hosts known: %s", exc)
            if not self._hosts_read:  # kept from an earlier start: asked for again soon
                self._hosts_due = time.monotonic() + min(settings.hosts_poll_s, settings.idle_poll_s)
            return
        if not nodes:
            log.warning("the Slurm partition lists no nodes; keeping the hosts known")
            return
        self._hosts_read = True
        if self._adopt(nodes):
            self._emit(HostsChanged(time.time(), tuple(self._hosts)))

    def _signal_steps(self, due: list[int], steps: dict[str, str], now: float) -> None:
        """SIGTERM to steps being cancelled, SIGKILL to those whose grace is over (steps not listed yet
        are tried at the next look)."""
        term: list[str] = []
        kill: list[str] = []
        for pk in due:
            step = steps.get(f"{_STEP_PREFIX}{pk}")
            if step is None or pk not in self._terminating:
                continue
            (term if self._terminating[pk] is None else kill).append(step)
            self._terminating[pk] = now + self._kill_grace_s
        if term:
            self._slurm.submit(self._tools.cancel, term, "TERM")
        if kill:
            self._slurm.submit(self._tools.cancel, kill)

    def _pause(self) -> float:
        """Until the next look: short just after a pilot was submitted (the controller usually starts it
        within its next scheduling pass, and the node is waited for), longer while one is pending or
        being cancelled, longest when all is quiet (only lost nodes are looked for)."""
        if time.monotonic() < self._eager_until:
            return _EAGER_POLL_S
        busy = self._terminating or any(not node.ready for node in self._nodes.values())
        return self._settings.poll_s if busy else self._settings.idle_poll_s

    def _look(self, with_steps: bool) -> tuple[list[SlurmJob], dict[str, str]]:
        jobs = self._tools.jobs(self._comment)
        steps = self._tools.steps(j.job_id for j in jobs if j.state == "RUNNING") if with_steps else {}
        return jobs, steps

    def _apply(self, jobs: list[SlurmJob]) -> None:
        """Pilots that started are ready; those that ended are lost (or failed, if they never started).
        Allocations of ours that no node holds are cancelled."""
        by_id = {job.job_id: job for job in jobs}
        named = by_name(jobs)
        for node_id, job_id in list(self._pilots.items()):
            node = self._nodes.get(node_id)
            if node_id in self._asking or node is None:
                continue
            if node_id in self._unanswered:  # the controller answers again: asked again
                self._unanswered.discard(node_id)
                self._ask(node_id, node.resources)
                continue
            if job_id is None and (found := named.get(node_id)) is not None:  # re-attached unanswered
                job_id = self._pilots[node_id] = found.job_id
            job = by_id.get(job_id) if job_id is not None else None
            if job is not None and job.state == "RUNNING":
                self._started(node_id, job.job_id)
            elif job is None or job.state in ENDED or node.ready:  # a started pilot never goes back
                was_ready = node.ready
                self._drop_node(node_id)
                event = NodeLost if was_ready else NodeFailed
                self._emit(event(node_id, time.time(), _gone(job)))
        strays = self._strays(jobs)
        if strays:
            log.warning("cancelling allocations of this server that no compute node holds: %s", strays)
            self._cancel_pilots(strays)

    def _strays(self, jobs: list[SlurmJob]) -> list[str]:
        """Live jobs of ours that are no node's pilot, and no node's whose allocation is being asked
        for: one whose submission was taken but never answered (``sbatch`` or ``salloc`` timed out;
        its node then failed), a pilot left by a crash before its node was stored, or one cancelled
        moments ago. Left alone, they would hold the cluster's resources until their time limit."""
        live = {job.job_id: job for job in jobs if job.state not in ENDED}
        self._cancelled &= live.keys()  # until the controller shows them ended
        known = self._cancelled | set(self._pilots.values())
        return [i for i, job in live.items() if i not in known and job.name not in self._asking]

    def _cancel_pilots(self, job_ids: list[str]) -> None:
        if job_ids:
            self._cancelled.update(job_ids)
            self._slurm.submit(self._tools.cancel, job_ids)

    def _clear_ended(self, groups: set[int]) -> None:
        """Wrappers' process numbers are the nodes', not this machine's; a step's end clears its own."""


def pilot_comment(runs_dir: Path) -> str:
    """What marks the pilots of the server whose data dir holds ``runs_dir``."""
    return "batchyard-" + hashlib.sha256(os.fsencode(runs_dir)).hexdigest()[:16]


def cancel_pilots(runs_dir: Path, env: Mapping[str, str]) -> None:
    """End every pilot of a data dir's server, for whatever discards the data dir (allocations outlive
    a stopped server by design)."""
    tools = SlurmTools(None, env)
    tools.cancel([job.job_id for job in tools.jobs(pilot_comment(runs_dir))])


def _this_machine(address: str) -> bool:
    if address in ("localhost", socket.gethostname(), socket.getfqdn()):
        return True
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(address).is_loopback
    return False


def _job_id(handle: str | None) -> str | None:
    """The pilot's job id in a node's durable handle (``slurm:<job id>``, given when it was ready)."""
    return handle.removeprefix(_HANDLE_PREFIX) if handle is not None else None


def _gone(job: SlurmJob | None) -> str:
    if job is None:
        return "The node's Slurm allocation is gone."
    return f"The node's Slurm allocation {job.job_id} ended: {job.state} ({job.reason})."


def _stepd_log(workspace: Workspace) -> str:
    """Where a step's own output goes: only what Slurm's step daemon writes, the command's goes to
    the node's log files."""
    return f"{workspace.workdir}.slurmstepd"


def _srun_log(workspace: Workspace) -> str:
    """Where ``srun`` itself writes, on the server's side: the node's latest attempt's only."""
    return f"{workspace.workdir}.srun"


def _remove_step_logs(workspace: Workspace) -> None:
    for log_file in (_stepd_log(workspace), _srun_log(workspace)):
        with contextlib.suppress(OSError):
            os.remove(log_file)


def _outcome_path(paths: AttemptPaths) -> str:
    return f"{paths.job_folder}/{paths.attempt_pk}.outcome"
