"""How the executor contract suite drives any executor: backends, the commands they run, and a harness.

Executors differ in how a command "runs": the local one runs it, the memory one runs nothing. The
suite uses a few commands whose effect is written down here (``PLANS``), so the memory backend can play
them through its ``auto_finish`` rule while the executor itself stays free of any shell.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from batchyard.config.settings import SandboxSettings, Settings
from batchyard.domain.attempts import AttemptSpec, Redirect
from batchyard.domain.resources import Resources
from batchyard.executors.base import (
    AttemptFinished,
    AttemptStarted,
    Event,
    Executor,
    Host,
    HostsChanged,
    LogRef,
    NodeFailed,
    NodeLost,
    NodeReady,
    NodeSpec,
)
from batchyard.executors.memory import MemoryExecutor
from batchyard.executors.slurm.executor import cancel_pilots
from batchyard.runner.sandbox import Isolation, probe_isolation
from batchyard.runner.wrapper import kill_wrappers_under
from batchyard.storage.factory import store_settings
from batchyard.storage.store import FsspecObjectStore
from conftest import SLURM_ENV

HOST = Host("test-host", Resources(cpu=4, memory_gib=8))
SMALL = Resources(cpu=1, memory_gib=1)
JOB = "job-contract"
WAIT_S = 10.0  # longest wait for an event: generous for real processes on a busy machine
QUIET_S = 0.2  # how long "nothing more happens" is watched for


@dataclass(frozen=True)
class Plan:
    """What one of the suite's commands does: how it exits, after how long, and what it prints."""

    exit_code: int
    seconds: float = 0.0
    stdout: bytes = b""


PLANS = {
    "true": Plan(0),
    "exit 3": Plan(3),
    "echo hi": Plan(0, stdout=b"hi\n"),
    "sleep 2": Plan(0, seconds=2),
    "sleep 30": Plan(0, seconds=30),
    "sleep 1; exit 4": Plan(4, seconds=1),
}


@dataclass
class Backend:
    """One executor implementation, with the hooks the suite needs for what differs between them."""

    # The executor a (re)started server uses; called at start and again after every stop.
    boot: Callable[[], Executor]
    # Let an attempt's command run to its end, whether or not the executor is listening.
    run_out: Callable[[AttemptSpec], Awaitable[None]]
    # Make a node's host lose it; None where nothing but the host's own end can (a share of this
    # machine), so the lost-node case runs only where it can happen.
    lose_node: Callable[[str], None] | None
    # Clear what the nodes a test made leave on the host once it is over (they outlive a stopped server).
    discard_nodes: Callable[[list[str]], None] = lambda _: None


def memory_backend(_: Path) -> Backend:
    """The memory executor, playing the suite's commands; the same object across restarts, as real nodes
    outlive a server. A ``sleep`` runs until ``run_out`` finishes it."""

    def play(spec: AttemptSpec) -> int | None:
        plan = PLANS[spec.command]
        executor.write_log(spec.attempt_pk, "stdout", plan.stdout)
        return None if plan.seconds else plan.exit_code

    async def run_out(spec: AttemptSpec) -> None:
        executor.finish(spec.attempt_pk, PLANS[spec.command].exit_code)

    executor = MemoryExecutor([HOST], auto_finish=play)
    return Backend(boot=lambda: executor, run_out=run_out, lose_node=executor.fail_node)


def local_backend(root: Path) -> Backend:
    """Real processes; a restart builds a new executor over the same folders, as a restarted server does."""

    def boot() -> Executor:
        # Imported here: the local executor is being rewritten and must not keep the memory runs from
        # being collected.
        from batchyard.executors.local import LocalExecutor

        store = FsspecObjectStore.local(root / "cos")
        return LocalExecutor(root / "runs", store, HOST, kill_grace_s=1.0, isolation=host_isolation())

    async def run_out(spec: AttemptSpec) -> None:
        await asyncio.sleep(PLANS[spec.command].seconds + 0.5)

    def discard_nodes(node_ids: list[str]) -> None:
        """Node sandboxes and cgroups outlive a stopped executor, as they outlive a stopped server."""
        kill_wrappers_under(str(root / "runs"))
        cgroups = host_isolation().cgroups
        if cgroups is not None:
            for node_id in node_ids:
                cgroups.remove(node_id)

    return Backend(boot=boot, run_out=run_out, lose_node=None, discard_nodes=discard_nodes)


@functools.cache
def host_isolation() -> Isolation:
    """What a server on this host would use (the sandbox and cgroups where it has them), found once."""
    return probe_isolation(SandboxSettings(), ())


def slurm_backend(root: Path) -> Backend:
    """Pilots on the session's Slurm cluster (the ``slurm_cluster`` fixture); a node is lost when its
    allocation is cancelled behind the executor's back."""
    env = {**os.environ, **SLURM_ENV}
    store_file = root / "runner-store.json"
    store_file.write_text(json.dumps(store_settings(Settings(data_dir=root))))

    def boot() -> Executor:
        from batchyard.executors.slurm.executor import SlurmExecutor, SlurmSettings

        store = FsspecObjectStore.local(root / "cos")
        settings = SlurmSettings(None, poll_s=0.1, idle_poll_s=0.5, hosts_poll_s=30.0, env=env)
        return SlurmExecutor(root / "runs", store, settings, store_file, 1.0, host_isolation())

    async def run_out(spec: AttemptSpec) -> None:
        await asyncio.sleep(PLANS[spec.command].seconds + 1.0)

    def lose_node(node_id: str) -> None:
        subprocess.run(["scancel", "--name", node_id], env=env, check=True, timeout=30)

    def discard_nodes(_: list[str]) -> None:
        cancel_pilots((root / "runs").resolve(), env)

    return Backend(boot=boot, run_out=run_out, lose_node=lose_node, discard_nodes=discard_nodes)


BACKENDS: dict[str, Callable[[Path], Backend]] = {
    "memory": memory_backend,
    "local": local_backend,
    "slurm": slurm_backend,
}
# Backends that need a fixture of their own, by name.
NEEDS = {"slurm": "slurm_cluster"}
# Backends whose nodes a test can make their host lose.
LOSES_NODES = ("memory", "slurm")
# Backends that measure what running attempts use (Slurm: where its accounting gathers, as the test
# cluster's does).
MEASURES_USAGE = ("memory", "local", "slurm")

E = TypeVar("E", NodeReady, NodeFailed, NodeLost, AttemptStarted, AttemptFinished)
T = TypeVar("T")


def attempt(pk: int, command: str, node_id: str = "n1") -> AttemptSpec:
    return AttemptSpec(pk, node_id, JOB, "task", 0, 1, command, (), Redirect(None, None))


def log_ref(spec: AttemptSpec) -> LogRef:
    return LogRef(spec.job_id, spec.attempt_pk, spec.node_id)


def _key(event: Event) -> str | int:
    if isinstance(event, HostsChanged):
        return "hosts"
    return event.attempt_pk if isinstance(event, AttemptStarted | AttemptFinished) else event.node_id


@dataclass(repr=False)  # its events would fill every assertion message
class Harness:
    """A started executor, every event it delivered (across restarts), and ways to wait for one."""

    backend: Backend
    runner: asyncio.Runner
    executor: Executor = field(init=False)
    events: list[Event] = field(default_factory=list)
    launched: dict[int, AttemptSpec] = field(default_factory=dict)
    listening: bool = False  # started and not stopped
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def host(self) -> Host:
        return self.executor.hosts()[0]

    async def start(self) -> None:
        self.executor = self.backend.boot()
        await self.executor.start(self._record)
        self.listening = True

    async def stop(self) -> None:
        self.listening = False
        await self.executor.stop()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def close(self) -> None:
        """Cancel what the test left running, then stop. Cleanup, not a check (the cancel test is one):
        a failed test leaves attempts behind, and each of the suite's commands ends within 30 s anyway."""
        if self.listening:
            left = [pk for pk in self.launched if self.first(AttemptFinished, pk) is None]
            self.executor.cancel(left)
            with contextlib.suppress(AssertionError):
                await self.until(lambda: all(self.first(AttemptFinished, pk) for pk in left) or None, 5.0)
            await self.stop()

    def node(self, node_id: str = "n1", resources: Resources = SMALL) -> NodeSpec:
        return NodeSpec(node_id, self.host.name, resources)

    async def ready_node(self, node_id: str = "n1") -> NodeReady:
        self.executor.provision([self.node(node_id)])
        return await self.wait(NodeReady, node_id)

    def launch(self, pk: int, command: str, node_id: str = "n1") -> AttemptSpec:
        spec = attempt(pk, command, node_id)
        self.launched[pk] = spec
        self.executor.launch([spec])
        return spec

    def all(self, kind: type[E], key: str | int) -> list[E]:
        return [event for event in self.events if isinstance(event, kind) and _key(event) == key]

    def first(self, kind: type[E], key: str | int) -> E | None:
        found = self.all(kind, key)
        return found[0] if found else None

    async def wait(self, kind: type[E], key: str | int, timeout: float = WAIT_S) -> E:
        return await self.until(lambda: self.first(kind, key), timeout)

    async def until(self, find: Callable[[], T | None], timeout: float = WAIT_S) -> T:
        """Wait for ``find`` to return something, re-checking after every event (no polling)."""
        try:
            async with asyncio.timeout(timeout):
                while (found := find()) is None:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"not seen within {timeout} s; events: {self.events}") from None
        return found

    async def quiet(self) -> None:
        """Let the executor deliver anything more it would, before checking that nothing more came."""
        await asyncio.sleep(QUIET_S)

    def _record(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()


@contextmanager
def started(backend: Backend) -> Iterator[Harness]:
    """A harness whose executor is started on a loop of its own, stopped (and its loop closed) after."""
    with asyncio.Runner() as runner:
        harness = Harness(backend, runner)
        runner.run(harness.start())
        try:
            yield harness
        finally:
            runner.run(harness.close())
            backend.discard_nodes(sorted({e.node_id for e in harness.events if isinstance(e, NodeReady)}))
