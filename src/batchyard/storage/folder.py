"""A store kept in a local folder: the embedded ``cos://`` store, and the mount root of ``cfs://`` paths.

``<root>/<bucket>/<key>`` for ``cos://<bucket>/<key>``, ``<root>/<host>/<path>`` for
``cfs://<host>/<path>``. Only this machine sees the folder, so it serves nodes on this machine only
(or a shared mount, for CFS).
"""

from __future__ import annotations

import os
from pathlib import Path

from fsspec.implementations.local import LocalFileSystem

from batchyard.storage.errors import StorageError
from batchyard.storage.local_files import copy_durably, replacing
from batchyard.storage.paths import RemotePath
from batchyard.storage.store import FsspecObjectStore


class FolderStore(FsspecObjectStore):
    """One sub-folder per bucket (or CFS host) under ``root``; writes are renamed into place.

    ``create=False`` is for a mount root: if it is missing the file system is not mounted, and
    writing to the local disk instead would lose the files for every other host.
    """

    def __init__(self, root: Path, *, create: bool = True) -> None:
        self._root = os.path.abspath(root)
        if create:
            os.makedirs(self._root, exist_ok=True)
        super().__init__(LocalFileSystem(), lambda bucket: f"{self._root}/{bucket}")

    def _locate(self, remote: RemotePath) -> str:
        """Where ``remote`` lives, refusing a path that a link would lead out of its bucket's folder.

        Links only come from outside batchyard (uploads never make them), such as another client of
        a shared CFS mount. The bucket folder itself may be a link an administrator made.
        """
        if not os.path.isdir(self._root):
            raise StorageError(remote.url, f"the store's folder {self._root} does not exist (not mounted?)")
        target = super()._locate(remote)
        folder = self._top(remote.bucket)
        inside = os.path.realpath(folder)
        if os.path.commonpath([os.path.realpath(target), inside]) != inside:
            raise StorageError(remote.url, f"the path leads out of its folder {folder}")
        return target

    def _write(self, local: Path, target: str) -> None:
        with replacing(Path(target)) as temporary:
            copy_durably(local, temporary)


def cfs_store(mount_root: Path | None, data_dir: Path) -> FolderStore:
    """``cfs://`` paths: a configured mount root must already exist (it is a mount), the default
    ``<data-dir>/cfs`` is made."""
    if mount_root is None:
        return FolderStore(data_dir / "cfs")
    return FolderStore(mount_root, create=False)
