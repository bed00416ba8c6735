"""Object storage behind ``cos://`` paths, through fsspec.

The embedded mode keeps objects in a folder (``<data-dir>/cos/<bucket>/<key>``); an S3-compatible
filesystem plugs in behind the same ``ObjectStore`` without callers changing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from fsspec.implementations.dirfs import DirFileSystem
from fsspec.implementations.local import LocalFileSystem

from batchyard.storage.paths import RemotePath


class ObjectStore(Protocol):
    def put_file(self, local: Path, remote: RemotePath) -> None:
        """Upload one file; idempotent (a repeat overwrites with the same bytes)."""

    def read_bytes(self, remote: RemotePath) -> bytes: ...

    def exists(self, remote: RemotePath) -> bool: ...


class FsspecObjectStore:
    """An ``ObjectStore`` over any fsspec filesystem whose top-level folders are buckets."""

    def __init__(self, fs: DirFileSystem) -> None:
        self._fs = fs

    @classmethod
    def local(cls, root: Path) -> FsspecObjectStore:
        root.mkdir(parents=True, exist_ok=True)
        return cls(DirFileSystem(path=str(root), fs=LocalFileSystem(auto_mkdir=True)))

    @staticmethod
    def _path(remote: RemotePath) -> str:
        return f"{remote.bucket}/{remote.key}"

    def put_file(self, local: Path, remote: RemotePath) -> None:
        self._fs.put_file(str(local), self._path(remote))

    def read_bytes(self, remote: RemotePath) -> bytes:
        data: bytes = self._fs.cat_file(self._path(remote))
        return data

    def exists(self, remote: RemotePath) -> bool:
        return bool(self._fs.exists(self._path(remote)))
