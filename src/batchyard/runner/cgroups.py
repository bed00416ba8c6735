"""Compute nodes' memory limits, enforced by the kernel: one memory cgroup per node.

A node is a reservation of its instance type's memory, so its cgroup's limit is that memory. Each
attempt's wrapper moves itself into its node's cgroup before the command can start
(``runner.wrapper``), so the command and everything it starts are counted, ``setsid`` daemons too;
the kernel's OOM killer counts its kills in the cgroup, which is how an attempt killed for its
memory is told from one killed otherwise (``runner.outcome``). A node runs one attempt at a time,
so whatever is left in its cgroup when an attempt ends is that attempt's, and is killed.

cgroup v1 (the ``memory`` controller mounted on its own) and v2 (the unified hierarchy, where it has
the memory controller) differ only in file names and in how swap is limited: each is a row of data.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_MOUNTS = "/proc/self/mounts"
_REMOVE_DELAYS_S = (0.0, 0.01, 0.05, 0.1, 0.25, 0.6)


@dataclass(frozen=True)
class _Layout:
    memory_limit: str  # takes the limit in bytes
    swap_limit: str  # absent where the kernel does not account swap
    swap_counts_memory: bool  # v1's memsw limits memory plus swap; v2's swap.max swap alone
    events: str  # holds the "oom_kill <n>" line
    subtree_control: str | None  # v2: where a parent lets its children use the memory controller


_V1 = _Layout("memory.limit_in_bytes", "memory.memsw.limit_in_bytes", True, "memory.oom_control", None)
_V2 = _Layout("memory.max", "memory.swap.max", False, "memory.events", "cgroup.subtree_control")


@dataclass(frozen=True)
class NodeCgroup:
    """One node's cgroup."""

    path: str
    layout: _Layout

    @property
    def procs(self) -> str:
        """The file a process writes its pid to, to join (the wrapper does)."""
        return f"{self.path}/cgroup.procs"

    def oom_kills(self) -> int | None:
        """How many processes the OOM killer has killed in this cgroup so far (None: unknown)."""
        try:
            with open(f"{self.path}/{self.layout.events}", "rb") as f:
                lines = f.read().splitlines()
        except OSError:
            return None
        counts = [line.split()[1] for line in lines if line.startswith(b"oom_kill ")]
        return int(counts[0]) if counts else None

    def kill_all(self) -> None:
        """SIGKILL every process left in the cgroup: a node's next attempt starts with it empty."""
        try:
            with open(self.procs, "rb") as f:
                pids = f.read().split()
        except OSError:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(pid), signal.SIGKILL)

    def remove(self) -> None:
        """Remove the cgroup, killing what is left in it; never raises.

        Processes killed just now may hold it for a moment while the kernel ends them, and nothing
        says when they are gone: it is tried again a few times, for about a second in all.
        """
        for delay in _REMOVE_DELAYS_S:
            time.sleep(delay)
            self.kill_all()
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError as exc:
                busy = exc
        log.warning("cgroup %s was not removed: %s", self.path, busy)


@dataclass(frozen=True)
class NodeCgroups:
    """The folder under which nodes' cgroups are made, e.g. ``/sys/fs/cgroup/memory/batchyard``."""

    root: str
    layout: _Layout

    def node(self, node_id: str, memory_bytes: int) -> NodeCgroup:
        """Make the node's cgroup with its limit, or take it back as it is (after a restart)."""
        cgroup = NodeCgroup(f"{self.root}/{node_id}", self.layout)
        os.makedirs(cgroup.path, exist_ok=True)
        _write(f"{cgroup.path}/{self.layout.memory_limit}", memory_bytes)
        swap = memory_bytes if self.layout.swap_counts_memory else 0
        with contextlib.suppress(FileNotFoundError):  # swap is not accounted on this host
            _write(f"{cgroup.path}/{self.layout.swap_limit}", swap)
        return cgroup

    def remove(self, node_id: str) -> None:
        """Remove a node's cgroup, if there is one (its node was retired while no server ran)."""
        NodeCgroup(f"{self.root}/{node_id}", self.layout).remove()


def find_node_cgroups(name: str) -> tuple[NodeCgroups | None, str]:
    """Where nodes' memory cgroups can be made on this host, or why they cannot (for the start-up log).

    ``name``: the folder under the memory hierarchy's root that holds them; "" means no limits.
    """
    if not name:
        return None, 'node memory limits are disabled in the configuration ([sandbox] cgroup = "")'
    found = _memory_hierarchy()
    if found is None:
        return None, "this host has no cgroup hierarchy with the memory controller"
    mount, layout = found
    cgroups = NodeCgroups(f"{mount}/{name}", layout)
    try:
        _prepare(mount, cgroups)
    except OSError as exc:
        return None, f"the memory cgroup {cgroups.root} cannot be used: {exc}"
    return cgroups, ""


def _memory_hierarchy() -> tuple[str, _Layout] | None:
    """The mount point of the hierarchy holding the memory controller, and its layout."""
    try:
        with open(_MOUNTS) as f:
            mounts = [line.split() for line in f]
    except OSError:
        return None
    for fields in mounts:
        if len(fields) < 4:
            continue
        fstype, mount, options = fields[2], fields[1], fields[3].split(",")
        if fstype == "cgroup" and "memory" in options:
            return mount, _V1
        if fstype == "cgroup2" and "memory" in _controllers(mount):
            return mount, _V2
    return None


def _controllers(mount: str) -> list[str]:
    try:
        with open(f"{mount}/cgroup.controllers") as f:
            return f.read().split()
    except OSError:
        return []


def _prepare(mount: str, cgroups: NodeCgroups) -> None:
    """Make the root folder and check a node cgroup with a limit can be made in it (and removed)."""
    os.makedirs(cgroups.root, exist_ok=True)
    control = cgroups.layout.subtree_control
    if control is not None:  # v2: memory must be handed down at each level
        for parent in (mount, cgroups.root):
            with open(f"{parent}/{control}", "w") as f:
                f.write("+memory")
    trial = f"probe-{os.getpid()}"
    cgroups.node(trial, 2**30)
    os.rmdir(f"{cgroups.root}/{trial}")


def _write(path: str, value: int) -> None:
    with open(path, "w") as f:
        f.write(str(value))


def discard_node_cgroups(data_dir: Path, name: str = "batchyard") -> None:
    """Remove the memory cgroups of the nodes a data dir still has; never raises.

    Node cgroups outlive a stopped server, as its attempts do (``wrapper.kill_wrappers_under``):
    whatever discards a data dir must remove them too.
    """
    cgroups, _ = find_node_cgroups(name)
    nodes = data_dir / "runs" / "nodes"
    if cgroups is not None and nodes.is_dir():
        for entry in nodes.iterdir():
            if entry.is_dir() and "." not in entry.name:  # beside a node's folder: its logs, data
                cgroups.remove(entry.name)
