"""The sandbox around every attempt's command: bubblewrap, as an unprivileged user (docs/security.md).

The launch wrapper (``runner.wrapper``) stays outside, as root: it writes the exit journal in the data
dir, which the sandbox must not see, and exits with the command's code. Its subshell runs the line
``Sandbox.argv`` gives, with the command appended::

    bwrap <namespaces> <system folders read-only> --proc /proc --dev /dev --tmpfs /tmp …
          --bind <workdir> <workdir> <binds> --chdir <workdir> --die-with-parent
          -- setpriv --reuid U --regid G --clear-groups --inh-caps=-all /bin/sh -c CMD

A node may keep such a sandbox for its attempts to enter instead (``entry_argv``, ``node_sandbox``).
bwrap runs as root: its mounts see every source (a data dir under a 0700
folder included) and it needs no user namespace, which hardened hosts refuse. Root inside keeps only
CAP_SETUID/CAP_SETGID, for setpriv to become the task user, and CAP_DAC_READ_SEARCH, to enter the
working folder; the task user then has none, and no_new_privs keeps setuid programs from giving any
back. ``--unshare-pid`` gives a fresh ``/proc`` holding only the attempt's processes, and
``--die-with-parent`` ends them all, ``setsid`` daemons included, when the command ends: bwrap exits
then, and its reaper inside dies with it, taking the namespace along.

No ``--new-session``: the wrapper is already a session leader without a terminal (nothing to inject
keystrokes into), and in the wrapper's process group and session the command is counted for the
monitor data and killed with the group. A terminated attempt's SIGTERM must spare bwrap, though
(its death would SIGKILL the command at once, with no time for the command's own clean-up), so it is
sent to the group's processes one by one, bwrap's two (or nsenter) left out (``terminate_commands``);
ignoring SIGTERM in bwrap instead would pass the ignoring on to the command, and undoing that costs
an exec per attempt.

The environment is the wrapper's, which is built minimal for a sandboxed node (``environment``):
passing it through keeps the task's EnvVars out of bwrap's command line, which ``/proc`` shows to
every user of the host.
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace

from batchyard.config.settings import SandboxSettings
from batchyard.domain.attempts import Bind as Bind  # built by the staging of mappings
from batchyard.runner.cgroups import NodeCgroups, find_node_cgroups
from batchyard.runner.node_sandbox import HoldFailed, hold, holder_argv

log = logging.getLogger(__name__)

_NAMESPACES = ("--unshare-pid", "--unshare-ipc")
# An attempt's own sandbox ends with its wrapper; a node's kept sandbox outlives the server that made it.
_WITH_ITS_WRAPPER = "--die-with-parent"
# Root inside keeps only what setpriv needs to become the task user, and the right to enter the
# working folder (bwrap does, before setpriv), which is the task user's and may be theirs alone.
_CAPABILITIES = (
    *("--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"),
    *("--cap-add", "CAP_DAC_READ_SEARCH"),
)
# A fresh /proc and /dev, and private temporary folders everyone in the sandbox may write.
_PRIVATE = (
    *("--proc", "/proc", "--dev", "/dev"),
    *("--perms", "1777", "--tmpfs", "/dev/shm", "--perms", "1777", "--tmpfs", "/tmp"),
)
_TRIAL_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Sandbox:
    """What every attempt's sandbox has in common, found once at start-up."""

    uid: int
    gid: int
    path: str  # PATH inside
    prefix: tuple[str, ...]  # bwrap, namespaces and the mounts every attempt gets
    suffix: tuple[str, ...]  # -- setpriv … /bin/sh -c (the command follows)
    # nsenter and unshare, where a node may keep its sandbox for its attempts to enter (node_sandbox)
    enter_tools: tuple[str, str] | None = None

    def argv(self, workdir: str, binds: Sequence[Bind] = ()) -> list[str]:
        """The command line that runs a command (appended) in the node's working folder.

        The working folder keeps its path, so paths the command prints or is given mean the same
        with and without the sandbox; binds come after it, so a mapping may land inside it.
        """
        return [*self.sandbox_argv(workdir, binds), _WITH_ITS_WRAPPER, *self.suffix]

    def sandbox_argv(self, workdir: str, binds: Sequence[Bind] = ()) -> list[str]:
        """bwrap with every mount, moved into the working folder: ``argv`` without the command."""
        mounts = [arg for bind in (Bind(workdir, workdir, True), *binds) for arg in _mount(bind)]
        return [*self.prefix, *mounts, "--chdir", workdir]

    def entry_argv(self, init: int) -> list[str]:
        """The command line that runs a command (appended) in a kept sandbox whose PID namespace has
        ``init`` (a host pid) as its pid 1: in its mounts, root and working folder, and its PID
        namespace, with an IPC namespace of its own, as the task user with no capabilities left and
        no_new_privs (which bwrap set for its own commands)."""
        if self.enter_tools is None:
            raise RuntimeError("this sandbox cannot be entered: nsenter or unshare is missing")
        nsenter, unshare = self.enter_tools
        enter = (nsenter, f"--target={init}", "--mount", "--pid", "--root", "--wd")
        setpriv, *ids, shell, dash_c = self.suffix[1:]
        drop = ("--bounding-set=-all", "--no-new-privs")
        return [*enter, "--", unshare, "--ipc", "--", setpriv, *ids, *drop, shell, dash_c]

    def environment(self, workdir: str) -> dict[str, str]:
        """A node's environment: nothing of the server's (BATCH_* and EnvVars are added per attempt)."""
        return {"PATH": self.path, "HOME": workdir}

    def hand_over(self, folder: str) -> None:
        """Make a folder the task user's, so the command can write in it (the server, root, still can)."""
        os.chown(folder, self.uid, self.gid)


@dataclass(frozen=True)
class Isolation:
    """What this machine enforces around attempts: the sandbox and node memory limits, where it can."""

    sandbox: Sandbox | None = None
    cgroups: NodeCgroups | None = None

    @property
    def sandboxed(self) -> bool:
        """Whether commands run sandboxed, which absolute mapping paths (mounts) need."""
        return self.sandbox is not None


NO_ISOLATION = Isolation()


def probe_isolation(config: SandboxSettings, hidden: Iterable[str]) -> Isolation:
    """Find the sandbox and cgroups, each tried once; say loudly what is missing and how to get it.

    ``hidden``: folders no attempt may see even where a bound folder holds them (the data dir).
    """
    sandbox, why = find_sandbox(config, hidden)
    if sandbox is None:
        log.warning(_UNSANDBOXED, why, config.user, config.user)
    cgroups, why_not = find_node_cgroups(config.cgroup)
    if cgroups is None:
        log.warning("NODE MEMORY IS NOT LIMITED: %s; a command may use all of this machine's.", why_not)
    else:
        log.info("node memory limits are enforced by cgroups under %s", cgroups.root)
    return Isolation(sandbox, cgroups)


_UNSANDBOXED = (
    "THE SANDBOX IS OFF: %s. Commands run as the server's user with everything it can reach: the data "
    "dir (credentials.json with every account's keys, the database, other jobs' logs and working "
    "folders), other tasks' processes and environments; background processes they start with setsid "
    "outlive them unless node cgroups end them; absolute DestinationPaths are refused. To turn it on, "
    "as root: `make system-deps` (or `apt-get install bubblewrap` and `useradd --system "
    "--no-create-home --shell /usr/sbin/nologin %s`), then run the server as root with [sandbox] "
    "enabled = true and user = %r. See docs/security.md."
)


def find_sandbox(config: SandboxSettings, hidden: Iterable[str]) -> tuple[Sandbox | None, str]:
    """The sandbox, tried once with a trial command, or why there is none."""
    if not config.enabled:
        return None, "it is disabled in the configuration ([sandbox] enabled = false)"
    tools = {name: shutil.which(name) for name in ("bwrap", "setpriv")}
    nsenter, unshare = shutil.which("nsenter"), shutil.which("unshare")
    missing = [name for name, found in tools.items() if found is None]
    if missing:
        return None, f"{' and '.join(missing)} not found (Debian packages bubblewrap and util-linux)"
    if os.geteuid() != 0:
        return None, "the server does not run as root, so it cannot run commands as another user"
    try:
        user = pwd.getpwnam(config.user)
    except KeyError:
        return None, f"the task user {config.user!r} does not exist"
    bwrap, setpriv = str(tools["bwrap"]), str(tools["setpriv"])
    sandbox = Sandbox(
        user.pw_uid,
        user.pw_gid,
        config.path,
        (bwrap, *_NAMESPACES, *_CAPABILITIES, *_host_mounts(config, hidden)),
        _as_user(setpriv, user),
        (nsenter, unshare) if config.per_node and nsenter and unshare else None,
    )
    failure = _trial(sandbox)
    if failure:
        return None, f"a trial sandbox failed: {failure}"
    if sandbox.enter_tools is not None and (failure := _entry_trial(sandbox)):
        log.warning("nodes do not keep their sandboxes, every attempt makes its own: %s", failure)
        sandbox = replace(sandbox, enter_tools=None)
    return sandbox, ""


def _as_user(setpriv: str, user: pwd.struct_passwd) -> tuple[str, ...]:
    ids = (f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--inh-caps=-all")
    return ("--", setpriv, *ids, "/bin/sh", "-c")


def _host_mounts(config: SandboxSettings, hidden: Iterable[str]) -> list[str]:
    """The system folders (read-only), /proc, /dev, /tmp, the shared folders, and the hidden folders
    that lie inside any of them covered by an empty one."""
    system = [folder for folder in config.system_folders if os.path.lexists(folder)]
    args = [arg for folder in system for arg in _system_mount(folder)]
    args += _PRIVATE
    args += [arg for folder in config.shared for arg in _mount(Bind(folder, folder, True))]
    bound = [os.path.realpath(f) for f in system if not os.path.islink(f)] + list(config.shared)
    for folder in hidden:
        if os.path.isdir(folder) and any(_inside(folder, outer) for outer in bound):
            args += ("--tmpfs", folder)
    return args


def _system_mount(folder: str) -> tuple[str, ...]:
    """A symlink (/bin -> usr/bin on a merged-/usr host) is copied as one, a folder bound read-only."""
    if os.path.islink(folder):
        return (*_parent(folder), "--symlink", os.readlink(folder), folder)
    return _mount(Bind(folder, folder, False))


def _mount(bind: Bind) -> tuple[str, ...]:
    return (*_parent(bind.target), "--bind" if bind.writable else "--ro-bind", bind.source, bind.target)


def _parent(target: str) -> tuple[str, ...]:
    """Make the parent of a mount point first: bubblewrap 0.8 makes missing parents of a bind 0700,
    which the task user could not walk through."""
    parent = posixpath.dirname(target.rstrip("/")) or "/"
    return ("--dir", parent) if parent != "/" else ()


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def terminate_commands(groups: AbstractSet[int]) -> None:
    """SIGTERM every process of these process groups (attempts' wrappers lead them) but bwrap's own:
    the command and all it started get the chance to end cleanly, and bwrap stays to report how it
    ended. One pass over /proc for all of them; the SIGKILL that follows ends everyone left."""
    if not groups:
        return
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            found = _name_and_group(entry.name)
            if found is not None and found[1] in groups and found[0] not in _LAUNCHERS:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(entry.name), signal.SIGTERM)


# They report the command's end as their own: bwrap, and nsenter into a node's kept sandbox.
_LAUNCHERS = frozenset({b"bwrap", b"nsenter"})


def _name_and_group(pid: str) -> tuple[bytes, int] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            head, _, tail = f.read().rpartition(b")")
        return head.partition(b"(")[2], int(tail.split()[2])  # after the name: state, ppid, pgrp
    except (OSError, ValueError, IndexError):
        return None  # gone meanwhile


def _trial(sandbox: Sandbox) -> str:
    """Run a command in a sandbox like an attempt's; return what went wrong, or ""."""
    with _trial_folder(sandbox) as workdir:
        return _run_trial(sandbox, sandbox.argv(workdir), workdir)


def _entry_trial(sandbox: Sandbox) -> str:
    """Run a command in a node's kept sandbox, as attempts enter it; return what went wrong, or ""."""
    with _trial_folder(sandbox) as workdir:
        try:
            kept = hold(holder_argv(sandbox, workdir, ()), sandbox.environment(workdir))
        except HoldFailed as exc:
            return str(exc)
        try:
            return _run_trial(sandbox, sandbox.entry_argv(kept.init), workdir)
        finally:
            kept.close()


@contextlib.contextmanager
def _trial_folder(sandbox: Sandbox) -> Iterator[str]:
    """An empty working folder of the task user's for a trial, removed after it."""
    workdir = tempfile.mkdtemp(prefix="batchyard-sandbox-trial-")
    try:
        sandbox.hand_over(workdir)
        yield workdir
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(workdir)


def _run_trial(sandbox: Sandbox, line: list[str], workdir: str) -> str:
    """``id -u; pwd`` must say the task user, in the working folder."""
    try:
        done = subprocess.run(
            [*line, "id -u; pwd"],
            env=sandbox.environment(workdir),
            capture_output=True,
            timeout=_TRIAL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode != 0 or done.stdout.split() != [str(sandbox.uid).encode(), os.fsencode(workdir)]:
        said = (done.stdout + done.stderr).decode(errors="replace").strip()
        return f"exit {done.returncode}: {said}"
    return ""
