"""What only the S3 backend has: bucket naming, credentials, and keys other S3 clients may write."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from batchyard.config.settings import S3Endpoint
from batchyard.storage.errors import NotFound, StorageError
from batchyard.storage.paths import parse_remote
from batchyard.storage.s3 import s3_store
from batchyard.storage.store import FsspecObjectStore
from conftest import MotoS3

from .conftest import endpoint, tree, write


def test_an_object_wins_over_a_folder_of_the_same_name(moto_s3: MotoS3, tmp_path: Path) -> None:
    """S3 can hold key ``x`` and keys under ``x/`` at once (a folder cannot): ``get`` takes the object."""
    bucket = moto_s3.new_bucket()
    store = s3_store(endpoint(moto_s3.url, moto_s3))
    store.put(write(tmp_path / "a", "file"), parse_remote(f"cos://{bucket}/x", directory=False))
    store.put(write(tmp_path / "b", "inside"), parse_remote(f"cos://{bucket}/x/inside", directory=False))
    store.get(parse_remote(f"cos://{bucket}/x", directory=False), tmp_path / "got")
    assert (tmp_path / "got").read_bytes() == b"file"


def test_getting_an_object_asks_for_it_once(
    moto_s3: MotoS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No HEAD before the GET: an input costs one request, as it would to any other S3 client."""
    bucket = moto_s3.new_bucket()
    store = s3_store(endpoint(moto_s3.url, moto_s3))
    remote = parse_remote(f"cos://{bucket}/in/f.bin", directory=False)
    store.put(write(tmp_path / "f", "data"), remote)
    asked = _requests_of(store, monkeypatch)
    store.get(remote, tmp_path / "got")
    assert asked == ["get_object"]
    assert (tmp_path / "got").read_bytes() == b"data"


def test_a_folder_named_without_its_slash_is_listed_after_the_get_misses(
    moto_s3: MotoS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = moto_s3.new_bucket()
    store = s3_store(endpoint(moto_s3.url, moto_s3))
    store.put(write(tmp_path / "f", "inside"), parse_remote(f"cos://{bucket}/d/f", directory=False))
    asked = _requests_of(store, monkeypatch)
    store.get(parse_remote(f"cos://{bucket}/d", directory=False), tmp_path / "got")
    assert asked[0] == "get_object" and "head_object" not in asked
    assert tree(tmp_path) == {"f": b"inside", "got/f": b"inside"}


def _requests_of(store: FsspecObjectStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The S3 operations the store asks for from now on, in order (s3fs sends each through
    ``_call_s3``)."""
    fs = store._fs
    original = fs._call_s3
    asked: list[str] = []

    async def recorded(method: str, *args: object, **kwargs: object) -> object:
        asked.append(method)
        return await original(method, *args, **kwargs)

    monkeypatch.setattr(fs, "_call_s3", recorded)
    return asked


@pytest.mark.parametrize("key", ["data/../../escape.txt", "data//rooted.txt", "data/./dot.txt"])
def test_keys_that_would_land_outside_the_destination_are_refused(
    moto_s3: MotoS3, tmp_path: Path, key: str
) -> None:
    bucket = moto_s3.new_bucket()
    client = moto_s3.client()
    client.put_object(Bucket=bucket, Key="data/fine.txt", Body=b"fine")
    client.put_object(Bucket=bucket, Key=key, Body=b"evil")
    store = s3_store(endpoint(moto_s3.url, moto_s3))
    with pytest.raises(StorageError, match="outside"):
        store.get(parse_remote(f"cos://{bucket}/data/", directory=True), tmp_path / "deep" / "dest")
    assert not list(tmp_path.rglob("*"))  # refused before anything was written


def test_folder_marker_objects_are_not_downloaded(moto_s3: MotoS3, tmp_path: Path) -> None:
    """Consoles create empty ``dir/`` keys to show folders; they are not files."""
    bucket = moto_s3.new_bucket()
    client = moto_s3.client()
    client.put_object(Bucket=bucket, Key="data/", Body=b"")
    client.put_object(Bucket=bucket, Key="data/sub/", Body=b"")
    client.put_object(Bucket=bucket, Key="data/sub/f.txt", Body=b"f")
    store = s3_store(endpoint(moto_s3.url, moto_s3))
    store.get(parse_remote(f"cos://{bucket}/data/", directory=True), tmp_path / "out")
    assert tree(tmp_path / "out") == {"sub/f.txt": b"f"}


def test_cos_buckets_keep_their_names_after_the_configured_prefix(moto_s3: MotoS3, tmp_path: Path) -> None:
    moto_s3.new_bucket("team-logs-1250000000")
    store = s3_store(endpoint(moto_s3.url, moto_s3, bucket_prefix="team-"))
    store.put(write(tmp_path / "f", "x"), parse_remote("cos://logs-1250000000/k.txt", directory=False))
    body = moto_s3.client().get_object(Bucket="team-logs-1250000000", Key="k.txt")["Body"].read()
    assert body == b"x"


def test_one_configured_bucket_holds_every_cos_bucket_as_a_folder(moto_s3: MotoS3, tmp_path: Path) -> None:
    shared = moto_s3.new_bucket()
    store = s3_store(endpoint(moto_s3.url, moto_s3, bucket=shared))
    long_form = "cos://logs-1250000000.cos.ap-guangzhou.myqcloud.com/k.txt"
    store.put(write(tmp_path / "f", "x"), parse_remote(long_form, directory=False))
    body = moto_s3.client().get_object(Bucket=shared, Key="logs-1250000000/k.txt")["Body"].read()
    assert body == b"x"
    assert store.read_bytes(parse_remote("cos://logs-1250000000/k.txt", directory=False)) == b"x"


def test_an_upload_to_a_missing_bucket_is_a_storage_error_not_a_missing_source(
    moto_s3: MotoS3, tmp_path: Path
) -> None:
    store = s3_store(endpoint(moto_s3.url, moto_s3))
    remote = parse_remote("cos://never-created-1250000000/k.txt", directory=False)
    with pytest.raises(StorageError) as info:
        store.put(write(tmp_path / "f", "x"), remote)
    assert not info.value.missing
    assert info.value.path == remote.url
    with pytest.raises(NotFound):
        store.get(remote, tmp_path / "out")


def test_keys_come_from_the_usual_aws_variables_when_not_configured(
    moto_s3: MotoS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    bucket = moto_s3.new_bucket()
    config = S3Endpoint(endpoint_url=moto_s3.url, region=moto_s3.region, max_attempts=1)
    remote = parse_remote(f"cos://{bucket}/k.txt", directory=False)
    with pytest.raises(StorageError, match="credentials"):
        s3_store(config).put(write(tmp_path / "f", "x"), remote)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto_s3.key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto_s3.secret)
    s3_store(config).put(tmp_path / "f", remote)
    assert s3_store(config).read_bytes(remote) == b"x"


@pytest.mark.parametrize(
    "values",
    [
        {"access_key_id": "AKID"},
        {"secret_access_key": "secret"},
        {"bucket": "one", "bucket_prefix": "p-"},
        {"addressing_style": "sideways"},
        {"max_attempts": 0},
    ],
)
def test_inconsistent_s3_settings_are_refused_at_start_up(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        S3Endpoint.model_validate(values)
