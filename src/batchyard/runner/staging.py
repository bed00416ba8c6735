"""An attempt's data, moved on its node: inputs and its package in before the command, outputs out after.

Paths relative to the working folder are staged right there. An absolute path (``/data/input/``) is a
folder of the node's data area (``<workdir>.data/``) that the sandbox mounts at that path, so the
command finds its data where Batch's examples put it; the same area is emptied after every attempt.

While a node runs one attempt it may stage the next one's data beside it (``NodeData.ahead``: a
working folder and a data area of their own, which no sandbox mounts), and the next attempt then
takes it in with renames (``take_staged``): its inputs are fetched while the one before it runs.

A package is fetched once per node and version and kept in ``<workdir>.packages/`` under the digests
of its path and of its version (``ObjectStore.version``: the ETag on S3, looked up for a task at most
once a second where the executor says so: ``recent_versions.py``): 1,000 instances of a task on one
node fetch it once, and a package uploaded again under the same path is fetched again by the next
attempt that sees its new version, which replaces the older copy.

An input that names one object is kept the same way in ``<workdir>.inputs/``, for the node's next
attempt only: mappings are the task's, so every instance of a task maps the same objects, and the
next attempt copies them from the node's disk once their versions are looked up, instead of
downloading them again. Each attempt gets a copy of its own (the command may change it); the cache
keeps what the latest staging used and nothing else, so it holds at most one attempt's inputs. A
version that changed while it was fetched is not kept. Prefixes are fetched whole every time.

Failures raise ``StagingFailed`` with the path, the cause and whose fault it is, classified once
(``runner.outcome.classify_error``): a store that cannot be reached or an input that is missing is
the system's (retried, not counted against MaxRetryCount); an archive that cannot be unpacked comes
back the same on every retry (not retried).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import shutil
import tarfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

from batchyard.domain.attempts import Bind, DataPlan, Failure
from batchyard.runner.outcome import classify_error
from batchyard.runner.recent_versions import VersionOf
from batchyard.runner.workspace import empty_folder
from batchyard.storage.errors import NotFound
from batchyard.storage.local_files import replacing
from batchyard.storage.paths import parse_remote
from batchyard.storage.store import ObjectStore


class StagingFailed(Exception):
    def __init__(self, failure: Failure, reason: str) -> None:
        super().__init__(reason)
        self.failure = failure
        self.reason = reason


@dataclass(frozen=True)
class NodeData:
    """Where one node keeps the data of its attempts, beside its working folder."""

    workdir: Path
    area: Path
    packages: Path
    inputs: Path

    @classmethod
    def of(cls, workdir: str) -> NodeData:
        return cls(*(Path(f"{workdir}{suffix}") for suffix in ("", ".data", ".packages", ".inputs")))

    def ahead(self) -> NodeData:
        """Where the node stages its next attempt's data while the current one runs: a working folder
        and a data area of its own, the same caches."""
        ahead = f"{self.workdir}.ahead"
        return NodeData(Path(ahead), Path(f"{ahead}.data"), self.packages, self.inputs)

    def local(self, path: str, n: int, kind: str) -> Path:
        """Where a mapping's local path is staged: in the working folder, or in the data area."""
        if not path.startswith("/"):
            return self.workdir / path
        return self.area / f"{kind}-{n}"

    def clear(self) -> None:
        """Empty the data area, keeping the folders a node's kept sandbox mounts (input-N, output-N)."""
        empty_folder(str(self.area), keep_folders=True)

    def discard(self) -> None:
        """Delete all of it for good (its node is retired), the data staged ahead too; never raises."""
        self.clear()
        ahead = self.ahead()
        for folder in (self.packages, self.inputs, ahead.workdir, ahead.area):
            shutil.rmtree(folder, ignore_errors=True)


def binds(plan: DataPlan, node: NodeData) -> tuple[Bind, ...]:
    """The folders the sandbox mounts at the plan's absolute paths, writable (a staged copy)."""
    found = [(p, n, "input") for n, (_, p) in enumerate(plan.inputs)]
    found += [(p, n, "output") for n, (p, _) in enumerate(plan.outputs)]
    return tuple(Bind(str(node.local(p, n, kind)), p, True) for p, n, kind in found if p.startswith("/"))


def stage_in(store: ObjectStore, plan: DataPlan, node: NodeData, version_of: VersionOf | None = None) -> None:
    """Unpack the package and fetch the inputs into place, and make the output folders. ``version_of``
    says which version of a kept object is current (``store.version`` unless given)."""
    version_of = version_of or store.version
    if plan.package is not None:
        unpack(_cached_package(store, plan.package, node, version_of), node.workdir)
    used: set[str] = set()
    for n, (remote, local) in enumerate(plan.inputs):
        target = node.local(local, n, "input")
        try:
            target.mkdir(parents=True, exist_ok=True)
            used.add(_fetch(store, remote, target, node.inputs, version_of))
        except Exception as exc:
            reason = classify_error(exc, f"The input {remote} could not be staged at {local}")
            raise StagingFailed(*reason) from None
    _keep_only(node.inputs, used)
    for n, (local, _) in enumerate(plan.outputs):
        if local.startswith("/"):
            node.local(local, n, "output").mkdir(parents=True, exist_ok=True)


def stage_ahead(
    store: ObjectStore, plan: DataPlan, node: NodeData, version_of: VersionOf | None = None
) -> None:
    """Stage the plan into the node's ahead folders, emptied first (an earlier staging there may
    have been for an attempt that never ran)."""
    ahead = node.ahead()
    for folder in (ahead.workdir, ahead.area):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    stage_in(store, plan, ahead, version_of)


def take_staged(node: NodeData) -> None:
    """Move what ``stage_ahead`` staged into the node's (emptied) working folder and data area.

    Renames on one file system: the folders a kept sandbox mounts stay the same folders, and only
    their entries move in. A failure is the system's: the node's own disk failed.
    """
    ahead = node.ahead()
    try:
        _move_entries(ahead.workdir, node.workdir)
        node.area.mkdir(exist_ok=True)
        for staged in os.scandir(ahead.area):
            target = node.area / staged.name
            if target.is_dir() and not target.is_symlink():  # a folder a kept sandbox mounts
                _move_entries(Path(staged.path), target)
            else:
                os.rename(staged.path, target)
    except OSError as exc:
        reason = classify_error(exc, "The data staged ahead could not be moved into place")
        raise StagingFailed(*reason) from None


def _move_entries(source: Path, target: Path) -> None:
    for entry in os.scandir(source):
        os.rename(entry.path, target / entry.name)


def stage_out(store: ObjectStore, plan: DataPlan, node: NodeData) -> list[str]:
    """Upload each output that exists; returns the local paths of outputs the command did not make.

    Every output is tried even when one fails: what can be saved is saved; the first failure is raised.
    """
    missing: list[str] = []
    failed: StagingFailed | None = None
    for n, (local, remote) in enumerate(plan.outputs):
        source = node.local(local, n, "output")
        if not source.exists():
            missing.append(local)
            continue
        try:
            _upload(store, source, remote)
        except Exception as exc:
            failed = failed or StagingFailed(
                *classify_error(exc, f"The output {local} could not be uploaded to {remote}")
            )
    if failed is not None:
        raise failed
    return missing


def save_outputs(store: ObjectStore, plan: DataPlan, node: NodeData) -> tuple[Failure, str] | None:
    """Upload the outputs after the command (also after a failure); how that failed, or which outputs
    the command did not make (its own fault), or None."""
    if not plan.outputs:
        return None
    try:
        missing = stage_out(store, plan, node)
    except StagingFailed as failed:
        return failed.failure, failed.reason
    if missing:
        return Failure.USER, f"The command made no {', '.join(missing)} for its OutputMappings."
    return None


def unpack(archive: Path, into: Path) -> None:
    """Unpack a .tgz/.tar.gz or .zip into the working folder; nothing in it may land outside."""
    try:
        if zipfile.is_zipfile(archive):
            _unzip(archive, into)
        else:
            with tarfile.open(archive, "r:*") as tar:
                tar.extractall(into, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, ValueError) as exc:
        raise StagingFailed(Failure.UNRUNNABLE, f"The package could not be unpacked: {exc}.") from None


def _unzip(archive: Path, into: Path) -> None:
    with zipfile.ZipFile(archive) as z:
        for name in z.namelist():
            normal = posixpath.normpath(name)
            if normal.startswith(("/", "../")) or normal == "..":
                raise ValueError(f"the entry {name!r} would land outside the working folder")
        z.extractall(into)


def _cached_package(store: ObjectStore, remote: str, node: NodeData, version_of: VersionOf) -> Path:
    """The package's current version, fetched into the node's cache the first time (a finished
    download only); older versions of it are removed."""
    path = parse_remote(remote, directory=False)
    name = _digest(remote, 32)
    try:
        cached = node.packages / f"{name}-{_digest(version_of(path), 16)}"
        if not cached.exists():  # a download is named by the store's own answer, not a trusted one
            cached = node.packages / f"{name}-{_digest(store.version(path), 16)}"
    except Exception as exc:
        raise StagingFailed(*classify_error(exc, f"The package {remote} could not be fetched")) from None
    if cached.exists():
        return cached
    node.packages.mkdir(parents=True, exist_ok=True)
    partial = node.packages / f"{name}.{os.getpid()}.part"
    try:
        store.get(path, partial)
        os.replace(partial, cached)
    except Exception as exc:
        partial.unlink(missing_ok=True)
        raise StagingFailed(*classify_error(exc, f"The package {remote} could not be fetched")) from None
    for older in node.packages.glob(f"{name}-*"):
        if older != cached:
            older.unlink(missing_ok=True)
    return cached


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _fetch(store: ObjectStore, remote: str, folder: Path, cache: Path, version_of: VersionOf) -> str:
    """A prefix (ending in /) fills the folder; a file lands in it under its own name, copied from
    the cache where its version is there. Returns the name of its entry in the cache ("" if none)."""
    path = parse_remote(remote, directory=False)
    if remote.endswith("/"):
        store.get(path, folder)
        return ""
    target = folder / posixpath.basename(path.key)
    try:
        version = version_of(path)
    except NotFound:  # a folder named without its slash, or nothing: get says which
        store.get(path, target)
        return ""
    entry = f"{_digest(path.url, 32)}-{_digest(version, 16)}"
    try:
        with replacing(target) as temporary:  # as a download: never written through a link
            shutil.copyfile(cache / entry, temporary)
        return entry
    except FileNotFoundError:
        pass  # not cached, or removed meanwhile by a staging for another attempt
    store.get(path, target)
    if store.version(path) == version:  # asked again, always: else the bytes may be of neither version
        _keep_copy(target, cache, entry)
    return entry


def _keep_copy(source: Path, cache: Path, entry: str) -> None:
    """Best effort: the attempt has its own copy whatever happens here."""
    partial = cache / f"{entry}.{os.getpid()}.{threading.get_ident()}.part"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, partial)
        os.replace(partial, cache / entry)
    except OSError:
        partial.unlink(missing_ok=True)


def _keep_only(cache: Path, entries: set[str]) -> None:
    """Remove what the latest staging did not use (copies being written by another included: it
    then keeps nothing, and its attempt is unaffected)."""
    with contextlib.suppress(FileNotFoundError):
        for found in os.scandir(cache):
            if found.name not in entries:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(found.path)


def _upload(store: ObjectStore, source: Path, remote: str) -> None:
    """A folder's contents go under the remote folder; a file goes into it under its own name."""
    store.put(source, parse_remote(remote, directory=True))
