"""A compute node's workspace: the working folder and two log files its attempts use, one after another.

Creating files is, for short commands, the largest share of the kernel's work, and on a busy ext4
disk a file creation can cost more than the command itself. So an attempt writes its logs into its
node's files, truncated at launch; when it ends, logs that are not empty are renamed to the
attempt's own names (``runner.paths``), and empty ones cost nothing. A node runs its next attempt
only after the store has recorded the end of the last one, so after a crash the workspace of an
attempt not yet recorded still holds that attempt's logs and nobody else's. An attempt always starts
in an empty folder: what a command leaves behind is deleted before the node is handed back.

In a sandbox the command runs as the task user, so the working folder is that user's (``owner``)
each time it is made; the logs are opened by the launcher and stay root's, and so does everything
around the folder. Emptying it never follows what the command left (``shutil.rmtree`` does not
follow symlinks), so a link it planted cannot make the server delete elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass

from batchyard.domain.attempts import Bind, Redirect


@dataclass(frozen=True)
class Workspace:
    workdir: str
    owner: tuple[int, int] | None = None  # (uid, gid) commands run as, if not the server's

    @property
    def stdout(self) -> str:
        return self.workdir + ".stdout"

    @property
    def stderr(self) -> str:
        return self.workdir + ".stderr"

    def log(self, stream: str) -> str:
        return self.stdout if stream == "stdout" else self.stderr

    def log_binds(self, redirect: Redirect) -> tuple[Bind, ...]:
        """The logs shown read-only where RedirectLocalInfo puts them inside the sandbox: the command
        can read its own output while it runs, and cannot change what the server uploads."""
        pairs = ((self.stdout, redirect.stdout_local), (self.stderr, redirect.stderr_local))
        return tuple(Bind(source, target, False) for source, target in pairs if target)

    def make(self) -> None:
        os.makedirs(self.workdir, exist_ok=True)
        if self.owner is not None:
            os.chown(self.workdir, *self.owner)

    def keep_logs(self, stdout: str, stderr: str) -> None:
        """Move logs that are not empty to the attempt's own files; leave empty ones to be truncated."""
        for source, target in ((self.stdout, stdout), (self.stderr, stderr)):
            try:
                if os.stat(source).st_size:
                    os.rename(source, target)
            except FileNotFoundError:
                continue  # never written (the attempt did not start) or already moved

    def is_clean(self) -> bool:
        """True if the command left its working folder empty (or removed it, which is as good).

        A folder that cannot be read or remade (the command changed its permissions) is not clean.
        """
        try:
            return not os.listdir(self.workdir)
        except FileNotFoundError:
            try:
                self.make()
            except OSError:
                return False
            return True
        except OSError:
            return False

    def reset(self) -> None:
        """Empty the working folder for the next attempt, keeping the folder: a node's kept sandbox
        mounts it (``runner.node_sandbox``)."""
        empty_folder(self.workdir)
        self.make()

    def discard(self) -> None:
        """Delete the workspace for good (its node is retired); never raises."""
        shutil.rmtree(self.workdir, ignore_errors=True)
        for log_file in (self.stdout, self.stderr):
            with contextlib.suppress(OSError):
                os.remove(log_file)


def empty_folder(folder: str, keep_folders: bool = False) -> None:
    """Delete what a folder holds but keep the folder (a folder bound into a sandbox stays bound);
    ``keep_folders``: its subfolders are emptied the same way, not deleted. Never follows a link;
    whatever stands at its path and is no folder is deleted. Never raises.
    """
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return
    except OSError:  # a link or a file the command put in its place
        with contextlib.suppress(OSError):
            os.unlink(folder)
        return
    try:
        for entry in os.scandir(fd):
            if not entry.is_dir(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.name, dir_fd=fd)
            elif keep_folders:
                empty_folder(f"{folder}/{entry.name}")
            else:
                shutil.rmtree(entry.name, ignore_errors=True, dir_fd=fd)
    except OSError:
        pass  # unreadable: the next look (is_clean) says so
    finally:
        os.close(fd)
