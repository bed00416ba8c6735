"""The ObjectStore contract, run over the local folder and an S3 server alike (``backend`` fixture)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from batchyard.storage.errors import NotFound, StorageError
from batchyard.storage.paths import RemotePath, parse_remote

from .conftest import Backend, tree, write

NESTED = {
    "a.txt": b"alpha",
    "sub/b.bin": bytes(range(256)),
    "sub/deeper/c.txt": b"gamma",
    "sub/deeper/empty": b"",
}


def test_put_then_get_a_file_round_trips_its_bytes(backend: Backend, tmp_path: Path) -> None:
    source = write(tmp_path / "in" / "data.bin", os.urandom(70_000))
    backend.store.put(source, backend.cos("dir/data.bin"))
    backend.store.get(backend.cos("dir/data.bin"), tmp_path / "out" / "copy.bin")
    assert (tmp_path / "out" / "copy.bin").read_bytes() == source.read_bytes()
    assert backend.store.read_bytes(backend.cos("dir/data.bin")) == source.read_bytes()


def test_put_a_file_to_a_folder_path_keeps_its_name(backend: Backend, tmp_path: Path) -> None:
    source = write(tmp_path / "result.txt", "42")
    backend.store.put(source, backend.cos("out/"))
    assert backend.store.read_bytes(backend.cos("out/result.txt")) == b"42"


def test_put_and_get_a_nested_folder_recursively(backend: Backend, tmp_path: Path) -> None:
    for relative, data in NESTED.items():
        write(tmp_path / "outputs" / relative, data)
    backend.store.put(tmp_path / "outputs", backend.cos("run/1/"))
    backend.store.get(backend.cos("run/1/"), tmp_path / "inputs")
    assert tree(tmp_path / "inputs") == NESTED


def test_a_folder_path_without_its_slash_names_the_same_folder(backend: Backend, tmp_path: Path) -> None:
    for relative, data in NESTED.items():
        write(tmp_path / "outputs" / relative, data)
    backend.store.put(tmp_path / "outputs", backend.cos("run"))
    backend.store.get(backend.cos("run"), tmp_path / "inputs")
    assert tree(tmp_path / "inputs") == NESTED


def test_a_prefix_download_takes_only_that_subtree(backend: Backend, tmp_path: Path) -> None:
    for relative, data in NESTED.items():
        write(tmp_path / "outputs" / relative, data)
    write(tmp_path / "outputs" / "subway.txt", "not under sub/")
    backend.store.put(tmp_path / "outputs", backend.cos("run/"))
    backend.store.get(backend.cos("run/sub/"), tmp_path / "part")
    assert tree(tmp_path / "part") == {
        "b.bin": NESTED["sub/b.bin"],
        "deeper/c.txt": b"gamma",
        "deeper/empty": b"",
    }


def test_a_prefix_is_a_whole_folder_name_not_the_start_of_one(backend: Backend, tmp_path: Path) -> None:
    backend.store.put(write(tmp_path / "f", "x"), backend.cos("data/f"))
    with pytest.raises(NotFound):
        backend.store.get(backend.cos("dat"), tmp_path / "out")


def test_both_cos_path_forms_name_the_same_object(backend: Backend, tmp_path: Path) -> None:
    long_form = parse_remote(
        f"cos://{backend.bucket}.cos.ap-guangzhou.myqcloud.com/logs/x.log", directory=False
    )
    backend.store.put(write(tmp_path / "x.log", "same"), long_form)
    assert backend.store.read_bytes(backend.cos("logs/x.log")) == b"same"
    backend.store.get(backend.cos("logs/"), tmp_path / "logs")
    assert tree(tmp_path / "logs") == {"x.log": b"same"}


def test_cfs_paths_land_under_the_mount_root_by_host(backend: Backend, tmp_path: Path) -> None:
    remote = parse_remote("cfs://10.0.0.8/share/dir/", directory=True)
    backend.store.put(write(tmp_path / "in" / "f.txt", "on cfs"), remote)
    assert (backend.cfs_root / "10.0.0.8" / "share" / "dir" / "f.txt").read_bytes() == b"on cfs"
    same = parse_remote("nfs://10.0.0.8/share/dir/f.txt", directory=False)
    assert backend.store.read_bytes(same) == b"on cfs"
    backend.store.get(remote, tmp_path / "out")
    assert tree(tmp_path / "out") == {"f.txt": b"on cfs"}


def test_keys_with_spaces_and_unicode_round_trip(backend: Backend, tmp_path: Path) -> None:
    files = {"résumé 1.txt": b"one", "数据/文件 2.bin": b"two", "a b/c+d%20e&f=g.txt": b"three"}
    for relative, data in files.items():
        write(tmp_path / "outputs" / relative, data)
    backend.store.put(tmp_path / "outputs", backend.cos("dir with space/é/"))
    assert backend.store.read_bytes(backend.cos("dir with space/é/数据/文件 2.bin")) == b"two"
    backend.store.get(backend.cos("dir with space/é/"), tmp_path / "inputs")
    assert tree(tmp_path / "inputs") == files


def test_a_repeated_put_overwrites_and_a_repeated_get_converges(backend: Backend, tmp_path: Path) -> None:
    """Both are idempotent, so a retried copy simply runs again."""
    source = write(tmp_path / "f.txt", "first")
    backend.store.put(source, backend.cos("f.txt"))
    write(source, "second")
    backend.store.put(source, backend.cos("f.txt"))
    backend.store.put(source, backend.cos("f.txt"))
    destination = write(tmp_path / "out" / "f.txt", "stale local copy")
    backend.store.get(backend.cos("f.txt"), destination)
    backend.store.get(backend.cos("f.txt"), destination)
    assert destination.read_bytes() == b"second"
    assert [p.name for p in destination.parent.iterdir()] == ["f.txt"]  # no temporary left behind


def test_exists_sees_objects_and_folders(backend: Backend, tmp_path: Path) -> None:
    backend.store.put(write(tmp_path / "f", "x"), backend.cos("d/f"))
    assert backend.store.exists(backend.cos("d/f"))
    assert backend.store.exists(backend.cos("d/"))
    assert not backend.store.exists(backend.cos("d/g"))


def test_version_changes_when_an_object_is_written_again_and_only_then(
    backend: Backend, tmp_path: Path
) -> None:
    """What a node's package cache is keyed by: a package uploaded again under its path is seen."""
    source = write(tmp_path / "p.tgz", "first")
    backend.store.put(source, backend.cos("pkg/p.tgz"))
    backend.store.exists(backend.cos("pkg/"))  # a listing the store may cache
    first = backend.store.version(backend.cos("pkg/p.tgz"))
    assert backend.store.version(backend.cos("pkg/p.tgz")) == first
    backend.store.put(write(source, "second"), backend.cos("pkg/p.tgz"))
    assert backend.store.version(backend.cos("pkg/p.tgz")) != first
    with pytest.raises(NotFound):
        backend.store.version(backend.cos("pkg/missing.tgz"))
    with pytest.raises(NotFound):
        backend.store.version(backend.cos("pkg"))  # a folder, not an object


def test_a_missing_source_is_not_found(backend: Backend, tmp_path: Path) -> None:
    cases: list[Callable[[], object]] = [
        lambda: backend.store.get(backend.cos("nothing.txt"), tmp_path / "out"),
        lambda: backend.store.get(backend.cos("nothing/"), tmp_path / "out"),
        lambda: backend.store.read_bytes(backend.cos("nothing.txt")),
        lambda: backend.store.put(tmp_path / "no-such-file", backend.cos("x")),
    ]
    for case in cases:
        with pytest.raises(NotFound) as info:
            case()
        assert info.value.missing
        assert "nothing" in info.value.path or "no-such-file" in info.value.path
    assert not (tmp_path / "out").exists()


def test_an_empty_folder_uploads_nothing(backend: Backend, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    backend.store.put(tmp_path / "empty", backend.cos("e/"))
    assert not backend.store.exists(backend.cos("e/"))


def test_an_unreachable_store_names_the_path_and_the_cause(backend: Backend, tmp_path: Path) -> None:
    store = backend.unreachable()
    source = write(tmp_path / "f.txt", "x")
    remote = backend.cos("logs/f.txt")
    for case in (
        lambda: store.put(source, remote),
        lambda: store.get(remote, tmp_path / "out"),
        lambda: store.exists(remote),
    ):
        with pytest.raises(StorageError) as info:
            case()
        assert not info.value.missing
        assert info.value.path == remote.url
        assert str(info.value).startswith(f"{remote.url}: ") and len(str(info.value)) > len(remote.url) + 2
        assert type(info.value) is StorageError


@pytest.mark.parametrize(
    ("bucket", "key"),
    [(None, "../other-1250000000/x"), (None, "a/../../x"), (None, "a//x"), (None, "./x"), ("..", "x")],
)
def test_paths_built_in_code_cannot_climb_or_read_two_ways(
    backend: Backend, tmp_path: Path, bucket: str | None, key: str
) -> None:
    """``parse_remote`` refuses these at submit; the store refuses them again from any other caller."""
    path = RemotePath("cos", bucket or backend.bucket, key)
    source = write(tmp_path / "f", "x")
    cases: list[Callable[[], object]] = [
        lambda: backend.store.put(source, path),
        lambda: backend.store.get(path, tmp_path / "out"),
        lambda: backend.store.read_bytes(path),
        lambda: backend.store.exists(path),
    ]
    for case in cases:
        with pytest.raises(StorageError, match="leads out"):
            case()
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["f"]  # nothing written anywhere


def test_put_never_follows_symbolic_links(backend: Backend, tmp_path: Path) -> None:
    """A command's output folder may hold links to the node's own files; none is uploaded."""
    secret = write(tmp_path / "secret", "node's own file")
    write(tmp_path / "outputs" / "kept.txt", "kept")
    (tmp_path / "outputs" / "leak.txt").symlink_to(secret)
    (tmp_path / "outputs" / "leakdir").symlink_to(tmp_path)
    backend.store.put(tmp_path / "outputs", backend.cos("o/"))
    backend.store.get(backend.cos("o/"), tmp_path / "back")
    assert tree(tmp_path / "back") == {"kept.txt": b"kept"}
    with pytest.raises(StorageError, match="symbolic link"):
        backend.store.put(tmp_path / "outputs" / "leak.txt", backend.cos("o/leak.txt"))


def test_put_refuses_what_is_not_a_regular_file(backend: Backend, tmp_path: Path) -> None:
    """A FIFO would block the uploader forever."""
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(StorageError, match="not a regular file"):
        backend.store.put(tmp_path / "fifo", backend.cos("fifo"))


def test_a_failed_download_keeps_the_old_file_and_leaves_no_partial(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend.store.put(write(tmp_path / "f", "new"), backend.cos("f"))
    destination = write(tmp_path / "out" / "f", "old")

    def half_then_fail(source: str, local: str, *args: object, **kwargs: object) -> None:
        Path(local).write_bytes(b"ne")
        raise ConnectionResetError("the connection dropped mid-download")

    monkeypatch.setattr(_fs_of(backend), "get_file", half_then_fail)
    with pytest.raises(StorageError, match="dropped"):
        backend.store.get(backend.cos("f"), destination)
    assert destination.read_bytes() == b"old"
    assert os.listdir(destination.parent) == ["f"]


def _fs_of(backend: Backend) -> object:
    """The fsspec filesystem behind the backend's cos:// store, to inject a failure into."""
    router = backend.store
    cos = router._stores["cos"]  # type: ignore[attr-defined]
    return cos._fs
