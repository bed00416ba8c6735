"""What only the folder backend has: renamed writes, confinement against links, the CFS mount root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from batchyard.storage import folder
from batchyard.storage.errors import StorageError
from batchyard.storage.folder import FolderStore, cfs_store
from batchyard.storage.local_files import PARTIAL_PREFIX
from batchyard.storage.paths import RemotePath, parse_remote

from .conftest import tree, write


def remote(key: str, bucket: str = "bucket-1250000000") -> RemotePath:
    return RemotePath("cos", bucket, key)


def test_a_failed_upload_keeps_the_old_object_and_leaves_no_partial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash mid-copy must never leave a half object under the real name."""
    store = FolderStore(tmp_path / "cos")
    store.put(write(tmp_path / "f", "old object"), remote("k"))

    def half_then_fail(source: Path, destination: Path) -> None:
        destination.write_bytes(b"new obj")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(folder, "copy_durably", half_then_fail)
    with pytest.raises(StorageError, match="No space left"):
        store.put(write(tmp_path / "f", "new object"), remote("k"))
    assert store.read_bytes(remote("k")) == b"old object"
    assert os.listdir(tmp_path / "cos" / "bucket-1250000000") == ["k"]


def test_partial_files_of_a_crashed_upload_are_never_downloaded(tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "cos")
    store.put(write(tmp_path / "f", "whole"), remote("d/f"))
    write(tmp_path / "cos" / "bucket-1250000000" / "d" / f"{PARTIAL_PREFIX}0123abcd", "half")
    store.get(remote("d/"), tmp_path / "out")
    assert tree(tmp_path / "out") == {"f": b"whole"}


def test_a_link_inside_a_bucket_cannot_carry_a_path_out_of_it(tmp_path: Path) -> None:
    """Another client of a shared CFS mount could plant one; reads and writes through it are refused."""
    write(tmp_path / "outside" / "secret", "node's own file")
    store = cfs_store(None, tmp_path)
    (tmp_path / "cfs" / "10.0.0.8").mkdir(parents=True)
    (tmp_path / "cfs" / "10.0.0.8" / "door").symlink_to(tmp_path / "outside")
    through = parse_remote("cfs://10.0.0.8/door/secret", directory=False)
    with pytest.raises(StorageError, match="leads out"):
        store.read_bytes(through)
    with pytest.raises(StorageError, match="leads out"):
        store.put(write(tmp_path / "f", "x"), through)
    assert (tmp_path / "outside" / "secret").read_text() == "node's own file"


def test_a_bucket_folder_may_itself_be_a_link(tmp_path: Path) -> None:
    """An administrator may place a bucket (or CFS host) elsewhere with a link."""
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "cos").mkdir()
    (tmp_path / "cos" / "bucket-1250000000").symlink_to(tmp_path / "elsewhere")
    store = FolderStore(tmp_path / "cos")
    store.put(write(tmp_path / "f", "x"), remote("k"))
    assert (tmp_path / "elsewhere" / "k").read_bytes() == b"x"


def test_a_configured_mount_root_that_is_missing_is_not_made(tmp_path: Path) -> None:
    """Writing to the local disk instead of an unmounted file system would lose the files."""
    store = cfs_store(tmp_path / "mnt" / "cfs", tmp_path / "data")
    path = parse_remote("cfs://10.0.0.8/x.txt", directory=False)
    with pytest.raises(StorageError, match="not mounted") as info:
        store.put(write(tmp_path / "f", "x"), path)
    assert not info.value.missing
    assert not (tmp_path / "mnt").exists()


def test_the_default_cfs_root_is_made_under_the_data_dir(tmp_path: Path) -> None:
    store = cfs_store(None, tmp_path / "data")
    store.put(write(tmp_path / "f", "x"), parse_remote("cfs://CFS.Example.com/a/", directory=True))
    assert (tmp_path / "data" / "cfs" / "cfs.example.com" / "a" / "f").read_bytes() == b"x"
