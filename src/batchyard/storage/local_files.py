"""The local side of a copy: which files a folder upload takes, and writes that appear whole or not at all.

Uploads read only regular files and never follow a symbolic link: a command could leave a link to a
file of the node (a key, another user's data) in its output folder, and the uploader runs with more
rights than the command. Downloads and folder-store writes go to a temporary name in the target's own
folder and are renamed over the target, so a crash leaves at worst a ``.batchyard-partial-…`` file,
never a truncated file under the real name; listings skip those names.
"""

from __future__ import annotations

import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from batchyard.storage.errors import NotFound, StorageError

PARTIAL_PREFIX = ".batchyard-partial-"


def is_partial(name: str) -> bool:
    """A temporary name of an unfinished write (of this process or of one that crashed)."""
    return name.startswith(PARTIAL_PREFIX)


def check_regular_file(path: Path) -> None:
    """Refuse what ``put`` must not read: a missing file, a link, a device or a FIFO (which blocks)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError as exc:
        raise NotFound(str(path), exc) from exc
    except OSError as exc:
        raise StorageError(str(path), exc) from exc
    if stat.S_ISLNK(mode):
        raise StorageError(str(path), "is a symbolic link, which uploads never follow")
    if not stat.S_ISREG(mode):
        raise StorageError(str(path), "is not a regular file")


def files_under(folder: Path) -> Iterator[tuple[Path, str]]:
    """Each regular file below ``folder`` with its ``/``-separated path relative to it, sorted.

    Links (to files or folders) and unfinished writes are left out; a folder that cannot be read
    raises, as an upload that silently skipped part of its outputs would look complete.
    """

    def refuse(exc: OSError) -> None:
        raise StorageError(exc.filename or str(folder), exc) from exc

    for top, dirs, names in os.walk(folder, onerror=refuse):
        dirs.sort()
        for name in sorted(names):
            path = Path(top, name)
            if not is_partial(name) and stat.S_ISREG(os.lstat(path).st_mode):
                yield path, path.relative_to(folder).as_posix()


def open_regular(path: Path) -> int:
    """A read-only descriptor of ``path``, refusing a link even if one was swapped in after a check."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError as exc:
        raise NotFound(str(path), exc) from exc
    except OSError as exc:
        raise StorageError(str(path), exc) from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise StorageError(str(path), "is not a regular file")
    return fd


@contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """A temporary path next to ``target``; renamed over it if the block succeeds, removed if not.

    The rename is atomic within one file system, so readers see the old file or the new one.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.parent / f"{PARTIAL_PREFIX}{uuid.uuid4().hex}"
    try:
        yield temporary
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def copy_durably(source: Path, destination: Path) -> None:
    """Copy a regular file's bytes (never through a link) and flush them before the caller renames.

    Without the flush a machine crash could leave the renamed name pointing at a file whose data
    never reached the disk.
    """
    with os.fdopen(open_regular(source), "rb") as src, open(destination, "wb") as dst:
        shutil.copyfileobj(src, dst, length=1 << 20)
        dst.flush()
        os.fsync(dst.fileno())
