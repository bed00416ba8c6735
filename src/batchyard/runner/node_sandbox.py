"""A sandbox kept by a compute node, which its attempts enter one after another (docs/security.md).

Making a bubblewrap sandbox costs more than a short command: namespaces, a score of mounts and a
fresh ``/proc``, each torn down again at the end. A node runs one attempt at a time, and its attempts
nearly always need the same mounts (the node's working folder, the same task's mappings), so a node
keeps one sandbox, held open by a process that only sleeps, and each attempt enters it
(``Sandbox.entry_argv``: ``nsenter`` into its mounts and PID namespace, an IPC namespace of its own,
``setpriv`` to the task user). The command sees what a sandbox of its own would show it.

Reuse ends wherever an attempt could leave something to the next one. The working folder and the
data area are emptied between attempts, as always, in place (the sandbox mounts those folders, not
their paths). An attempt that leaves a process in the sandbox or a file in its ``/tmp`` or
``/dev/shm`` costs the node its sandbox: it is killed, with all it holds, and the next attempt gets a
fresh one; so does an attempt that needs other mounts. The sleeping holder is root's, so the task
user can neither signal it nor read its ``/proc`` entries.

A kept sandbox outlives a stopped server, as the attempts running in it do; a restarted server takes
each one back by its command line (``held_sandboxes``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import select
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from batchyard.runner.sandbox import Bind, Sandbox

# The holder: says it is ready (bwrap runs its command only once every mount is in place), then sleeps.
_HOLDER = ("/bin/sh", "-c", "printf . >&3; exec sleep infinity 3>&-", "batchyard-node-sandbox")
_READY_FD = 3
_READY_TIMEOUT_S = 30.0
# pid 1 (bwrap's reaper) and pid 2 (the holder) of the sandbox's PID namespace
_HOLDERS_PIDS = frozenset({"1", "2"})
_EMPTY_FOLDERS = ("tmp", "dev/shm")  # the sandbox's own temporary folders


class HoldFailed(RuntimeError):
    """A node's sandbox could not be made; its attempt makes a sandbox of its own instead."""


@dataclass
class NodeSandbox:
    """One node's kept sandbox: ``argv`` made it, so it serves attempts that need the same."""

    argv: tuple[str, ...]
    monitor: int  # bwrap outside the sandbox, which made it and waits for it
    init: int  # pid 1 of the sandbox's PID namespace, as the host sees it: what attempts enter
    pidfd: int  # init's: whether it has exited, asked without a race with a reused pid
    own: bool  # the monitor is this server's child, reaped when the sandbox is closed
    # What its /tmp and /dev/shm held when it was made (mount points, of folders mounted inside
    # them); None for one taken back after a restart, whose past is unknown: it serves no new attempt.
    made_with: tuple[frozenset[str], ...] | None

    @property
    def reusable(self) -> bool:
        return self.made_with is not None

    @functools.cached_property
    def binds(self) -> list[tuple[str, str]]:
        """(host folder, path inside) of each writable mount of its command line."""
        return [(self.argv[at + 1], self.argv[at + 2]) for at, arg in enumerate(self.argv) if arg == "--bind"]

    def alive(self) -> bool:
        """False once its pid 1 has begun to exit. Its pidfd turns readable only when it has ended,
        after it has killed and waited for every process in its namespace (so an attempt killed with
        it may be seen ending first); the kernel marks it exiting before that (a signal 0 would still
        reach it until its monitor reaps it)."""
        exited = select.poll()
        exited.register(self.pidfd, select.POLLIN)
        return not exited.poll(0) and not _exiting(self.init)

    def untouched(self) -> bool:
        """True if no process is left in it but its holder, its /tmp and /dev/shm hold what they held
        when it was made, and each of its writable mounts still shows the host folder it mounted
        (not one deleted meanwhile). Always False for one that is not reusable."""
        root = f"/proc/{self.init}/root"
        try:
            if any(pid.isdigit() and pid not in _HOLDERS_PIDS for pid in os.listdir(f"{root}/proc")):
                return False
            if _temporary(root) != self.made_with:
                return False
            return all(_same_file(source, f"{root}{target}") for source, target in self.binds)
        except OSError:
            return False

    def close(self) -> None:
        """Kill it and everything in it (its PID namespace ends with its pid 1); never raises.

        Reaping its monitor waits for the kernel to end them: call it off the event loop.
        """
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.close(self.pidfd)
        if self.own:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.monitor, 0)


def holder_argv(sandbox: Sandbox, workdir: str, binds: Sequence[Bind]) -> tuple[str, ...]:
    """The command line of a node's sandbox with these mounts, which its attempts will enter."""
    return (*sandbox.sandbox_argv(workdir, binds), "--", *_HOLDER)


def hold(argv: Sequence[str], env: dict[str, str]) -> NodeSandbox:
    """Make a node's sandbox and wait until it is ready; blocks for a few milliseconds.

    Its bwrap gets a session of its own, so it outlives the server like the attempts inside it.
    """
    ready, ready_w = os.pipe2(os.O_CLOEXEC)
    try:
        monitor = os.posix_spawn(
            argv[0],
            list(argv),
            env,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_DUP2, 1, 2),
                (os.POSIX_SPAWN_DUP2, ready_w, _READY_FD),
            ],
            setsid=True,
        )
    finally:
        os.close(ready_w)
    try:
        try:
            _wait_ready(ready, monitor)
        finally:
            os.close(ready)
        init = _only_child(monitor)
        pidfd = os.pidfd_open(init)
        return NodeSandbox(
            tuple(argv), monitor, init, pidfd, own=True, made_with=_temporary(f"/proc/{init}/root")
        )
    except (OSError, HoldFailed) as exc:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(monitor, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(monitor, 0)
        raise HoldFailed(f"the node's sandbox could not be made: {exc}") from None


def _wait_ready(ready: int, monitor: int) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while (left := deadline - time.monotonic()) > 0:
        if select.select([ready], [], [], left)[0]:
            if os.read(ready, 1):
                return
            raise HoldFailed(f"bwrap (pid {monitor}) ended before its sandbox was ready")
    raise HoldFailed(f"bwrap (pid {monitor}) was not ready in {_READY_TIMEOUT_S:.0f} s")


def _only_child(pid: int) -> int:
    children = _children(pid)
    if len(children) != 1:
        raise HoldFailed(f"bwrap (pid {pid}) has {len(children)} children, not its sandbox's one")
    return children[0]


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(child) for child in f.read().split()]


_PF_EXITING = 0x4  # in the flags of /proc/<pid>/stat: the process has begun to exit


def _exiting(pid: int) -> bool:
    """Read while its pidfd says it has not ended, so the pid is still its own."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rpartition(b")")[2].split()
        return bool(int(fields[6]) & _PF_EXITING)  # after the name: state, ppid, … , flags
    except (OSError, ValueError, IndexError):
        return True


def _temporary(root: str) -> tuple[frozenset[str], ...]:
    return tuple(frozenset(os.listdir(f"{root}/{folder}")) for folder in _EMPTY_FOLDERS)


def _same_file(a: str, b: str) -> bool:
    first, second = os.stat(a), os.stat(b)
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def held_sandboxes(nodes_folder: str) -> dict[str, NodeSandbox]:
    """The kept sandboxes of nodes whose working folders are in ``nodes_folder``, by working folder:
    what a restarted server takes back. One pass over /proc.

    Only sandboxes that were ready count (their holder runs); one caught while being made is
    killed, as is any second sandbox of one folder: its node gets a fresh one when it needs it.
    """
    found: dict[str, NodeSandbox] = {}
    for monitor, argv in _holders(nodes_folder):
        workdir = argv[argv.index("--chdir") + 1]
        try:
            init = _only_child(monitor)
            if not _children(init):  # bwrap starts the holder only once the sandbox is made
                raise HoldFailed("not ready")
            pidfd = os.pidfd_open(init)
        except (OSError, ValueError, HoldFailed):
            _kill_group(monitor)
            continue
        kept = NodeSandbox(tuple(argv), monitor, init, pidfd, own=False, made_with=None)
        if workdir in found:
            kept.close()
        else:
            found[workdir] = kept
    return found


def kill_held_under(folder: str) -> None:
    """Kill the kept sandboxes of nodes under ``folder`` (a data dir), with all they hold.

    They outlive a stopped server by design; whatever discards a data dir must end them too.
    """
    for monitor, _ in _holders(folder):
        _kill_group(monitor)


def _holders(folder: str) -> list[tuple[int, list[str]]]:
    """(monitor pid, command line) of every node sandbox's bwrap working in a folder under ``folder``.

    Inside the sandbox, its pid 1 carries the same command line: only processes of this PID
    namespace count, and only root's (which this server's are), whatever another user names theirs.
    """
    prefix = folder.rstrip("/") + "/"
    tail = [os.fsencode(arg) for arg in _HOLDER]
    own_namespace = os.readlink("/proc/self/ns/pid")
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")[:-1]
            if argv[-len(tail) :] != tail or b"--chdir" not in argv:
                continue
            if os.readlink(f"/proc/{entry.name}/ns/pid") != own_namespace or entry.stat().st_uid != 0:
                continue
        except (OSError, ValueError):
            continue  # gone meanwhile, or not ours to read
        decoded = [os.fsdecode(arg) for arg in argv]
        if decoded[decoded.index("--chdir") + 1].startswith(prefix):
            found.append((int(entry.name), decoded))
    return found


def _kill_group(monitor: int) -> None:
    """The monitor leads its session's only process group; the sandbox's processes are in it too,
    but for those that made sessions of their own, whom the end of its pid 1 takes along."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(monitor, signal.SIGKILL)
