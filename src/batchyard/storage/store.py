"""The storage boundary: copies between the node's files and the remote paths users write.

``ObjectStore`` is the one interface; ``SchemeRouter`` sends ``cos://`` and ``cfs://`` paths to the
store configured for each; ``FsspecObjectStore`` implements the interface over any fsspec filesystem
(the local folder in ``folder.py``, an S3-compatible endpoint in ``s3.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from fsspec import AbstractFileSystem

from batchyard.storage.errors import NotFound, StorageError
from batchyard.storage.local_files import check_regular_file, files_under, is_partial, replacing
from batchyard.storage.paths import RemotePath, well_formed


class ObjectStore(Protocol):
    """Copies files and folders to and from remote paths; every failure is a ``StorageError``.

    A remote path names an object, or a folder when it ends with ``/`` (or is a whole bucket): object
    stores have no folders, so a folder is every object whose key starts with ``<key>/``. ``NotFound``
    (``exc.missing``) means the source does not exist; any other ``StorageError`` means the store could
    not be reached or refused, or a path cannot be used as asked. Each names the path and the cause.
    """

    def put(self, local: Path, remote: RemotePath) -> None:
        """Upload a file, or a folder recursively.

        A file goes to ``remote``, or to ``remote`` + its own name when ``remote`` ends with ``/``. A
        folder's regular files go to ``remote/<their path below the folder>`` (``remote`` is taken as
        a folder either way); symbolic links are never followed (a link inside is skipped, ``local``
        being one is refused), and an empty folder uploads nothing.

        Each object appears whole or not at all: a crash mid-upload leaves the old object or none,
        never a half one. A folder is not atomic as a whole: a failed upload may leave some objects.
        Idempotent: a repeat overwrites each object with the same bytes and so completes a failed one;
        objects already under the folder that ``local`` lacks are left alone.
        Raises ``NotFound`` when ``local`` does not exist.
        """

    def get(self, remote: RemotePath, local: Path) -> None:
        """Download an object to the file ``local``, or a folder recursively into the folder ``local``.

        ``remote`` is a folder when it ends with ``/``, or when no object has its exact key but some
        have it as a prefix (an object at the key wins over a folder of the same name). ``local`` is
        the destination itself, not a folder to put a file in. Missing parent folders are made.

        Each file is written under a temporary name in its folder and renamed, so a crash never
        leaves a partial file under its real name. Idempotent: a repeat overwrites each file with the
        same bytes; files in ``local`` that the remote folder lacks are left alone.
        Raises ``NotFound`` when nothing is at or under ``remote``, and ``StorageError`` for a key
        that would land outside ``local`` (``a/../../x``, ``a//x``, written to S3 by other tools).
        """

    def read_bytes(self, remote: RemotePath) -> bytes:
        """One object's bytes. Reads only. Raises ``NotFound`` when there is no object at the key."""

    def exists(self, remote: RemotePath) -> bool:
        """Whether an object is at ``remote`` or under it as a folder. Reads only.

        Raises ``StorageError`` when the store cannot answer: "unreachable" is not "absent".
        """

    def version(self, remote: RemotePath) -> str:
        """A token that changes whenever the object at ``remote`` is written again: what a cache of
        its bytes is keyed by. Reads only. Raises ``NotFound`` when there is no object at the key."""


class SchemeRouter:
    """An ``ObjectStore`` that sends each remote path to the store serving its scheme."""

    def __init__(self, stores: Mapping[str, ObjectStore]) -> None:
        self._stores = dict(stores)

    def _store(self, remote: RemotePath) -> ObjectStore:
        store = self._stores.get(remote.scheme)
        if store is None:
            raise StorageError(remote.url, f"no store serves {remote.scheme}:// paths")
        return store

    def put(self, local: Path, remote: RemotePath) -> None:
        self._store(remote).put(local, remote)

    def get(self, remote: RemotePath, local: Path) -> None:
        self._store(remote).get(remote, local)

    def read_bytes(self, remote: RemotePath) -> bytes:
        return self._store(remote).read_bytes(remote)

    def exists(self, remote: RemotePath) -> bool:
        return self._store(remote).exists(remote)

    def version(self, remote: RemotePath) -> str:
        return self._store(remote).version(remote)


class FsspecObjectStore:
    """An ``ObjectStore`` over an fsspec filesystem; ``top`` says where a bucket's keys start in it.

    Subclasses change how one file is written (``_write``), where a path lands (``_locate``) and how
    ``get`` tells an object from a folder (``_get_object``); every fsspec or botocore exception is
    turned into a ``StorageError`` here.
    """

    def __init__(self, fs: AbstractFileSystem, top: Callable[[str], str]) -> None:
        self._fs = fs
        self._top = top

    @classmethod
    def local(cls, root: Path) -> FsspecObjectStore:
        """The embedded store: a folder holding one sub-folder per bucket (see ``folder.py``)."""
        from batchyard.storage.folder import FolderStore  # a subclass of this one

        return FolderStore(root)

    def put(self, local: Path, remote: RemotePath) -> None:
        with _translated(str(local), missing=True):  # the local side; each upload translates its own
            if _is_folder(local):
                for path, relative in files_under(local):
                    self._put_file(path, remote.child(relative))
                return
            check_regular_file(local)
            self._put_file(local, remote.child(local.name) if remote.is_prefix else remote)

    def get(self, remote: RemotePath, local: Path) -> None:
        with _translated(remote.url, missing=True):
            target = self._locate(remote)
            if remote.is_prefix or not self._get_object(target, local):
                self._get_folder(remote, target, local)

    def read_bytes(self, remote: RemotePath) -> bytes:
        with _translated(remote.url, missing=True):
            data: bytes = self._fs.cat_file(self._locate(remote))
            return data

    def exists(self, remote: RemotePath) -> bool:
        with _translated(remote.url, missing=True):
            return bool(self._fs.exists(self._locate(remote)))

    def version(self, remote: RemotePath) -> str:
        """The ETag where the store keeps one (S3); else size, change time and inode, which a write
        through ``replacing`` (a new file renamed over the old) always changes."""
        with _translated(remote.url, missing=True):
            target = self._locate(remote)
            self._fs.invalidate_cache(target)  # a listing cached earlier must not hide a new upload
            info: dict[str, Any] = self._fs.info(target)
            if info.get("type") != "file":
                raise NotFound(remote.url, "no object at this path")
            tag = info.get("ETag")
            return str(tag) if tag else ":".join(str(info.get(k)) for k in ("size", "mtime", "ino"))

    def _locate(self, remote: RemotePath) -> str:
        """Where ``remote`` lives in the filesystem; paths built in code get the checks of
        ``parse_remote`` again, so none reads differently on two backends or climbs out of a folder."""
        if not well_formed(remote.key) or "/" in remote.bucket or remote.bucket in ("", ".", ".."):
            raise StorageError(remote.url, "the path leads out of its bucket or is malformed")
        return f"{self._top(remote.bucket)}/{remote.key}"

    def _write(self, local: Path, target: str) -> None:
        """Upload one regular file; fsspec stores that publish objects whole need nothing more."""
        self._fs.put_file(str(local), target)

    def _put_file(self, local: Path, remote: RemotePath) -> None:
        with _translated(remote.url, missing=False):
            self._write(local, self._locate(remote))

    def _get_object(self, target: str, local: Path) -> bool:
        """Download the object at ``target``; False, having written nothing, when there is none (a
        folder of that name may be there). Asking first is cheap where a look is a ``stat``."""
        if not self._is_object(target):
            return False
        self._download(target, local)
        return True

    def _get_folder(self, remote: RemotePath, target: str, local: Path) -> None:
        """Every object under ``target`` as a folder, placed below ``local``; each key is checked
        before the first is written, so a key that would climb out leaves nothing behind."""
        files = self._files(target.rstrip("/") + "/")
        if not files:
            raise NotFound(remote.url, "no object at this path or under it")
        placed = [(path, _inside(local, relative, remote)) for path, relative in files]
        for path, destination in placed:
            self._download(path, destination)

    def _is_object(self, target: str) -> bool:
        """``isfile`` would answer False for an unreachable store too; ``info`` raises instead."""
        try:
            info: dict[str, Any] = self._fs.info(target)
        except FileNotFoundError:
            return False
        return bool(info["type"] == "file")

    def _files(self, prefix: str) -> list[tuple[str, str]]:
        """(path in the filesystem, key relative to ``prefix``) of each object under ``prefix``."""
        found: dict[str, dict[str, Any]] = self._fs.find(prefix, detail=True)
        return [
            (path, path[len(prefix) :])
            for path, info in sorted(found.items())
            if path.startswith(prefix) and _is_plain_object(path, info)
        ]

    def _download(self, source: str, destination: Path) -> None:
        with replacing(destination) as temporary:
            self._fs.get_file(source, str(temporary))


def _is_folder(local: Path) -> bool:
    """A folder, not a link to one (which ``check_regular_file`` then refuses)."""
    return local.is_dir() and not local.is_symlink()


def _is_plain_object(path: str, info: dict[str, Any]) -> bool:
    """Objects only: no folder markers (``dir/`` keys), links, or writes still under way."""
    name = path.rsplit("/", 1)[-1]
    return info.get("type") == "file" and not info.get("islink") and name != "" and not is_partial(name)


def _inside(local: Path, relative: str, remote: RemotePath) -> Path:
    """Where a downloaded key lands, refusing keys that S3 allows but would climb out of ``local``."""
    segments = relative.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise StorageError(remote.child(relative).url, f"the key would land outside {local}")
    return local.joinpath(*segments)


@contextmanager
def _translated(path: str, *, missing: bool) -> Iterator[None]:
    """Turn whatever fsspec, botocore or the OS raise into a ``StorageError`` naming ``path``.

    ``missing`` says whether a ``FileNotFoundError`` means the source is missing (``NotFound``): for
    an upload it means the bucket is, which is the store's configuration, not the user's path.
    """
    try:
        yield
    except StorageError:
        raise
    except FileNotFoundError as exc:
        raise (NotFound if missing else StorageError)(path, exc) from exc
    except Exception as exc:  # the boundary: no backend's own exception leaves storage/
        raise StorageError(path, exc) from exc
