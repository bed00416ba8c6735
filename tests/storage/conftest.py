"""The ``backend`` fixture: the storage contract runs over the local folder and a real S3 server (moto).

Each backend is the store the server builds: a ``SchemeRouter`` sending ``cos://`` paths to the backend
under test and ``cfs://`` paths to a mount root folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from batchyard.config.settings import S3Endpoint
from batchyard.storage.folder import FolderStore
from batchyard.storage.paths import RemotePath, parse_remote
from batchyard.storage.s3 import s3_store
from batchyard.storage.store import ObjectStore, SchemeRouter
from conftest import MotoS3, free_port


@dataclass
class Backend:
    name: str
    store: ObjectStore
    bucket: str  # a COS-style bucket that exists and is empty
    cfs_root: Path
    unreachable: Callable[[], ObjectStore]  # the same kind of store, with nothing behind it

    def cos(self, key: str) -> RemotePath:
        return parse_remote(f"cos://{self.bucket}/{key}", directory=False)


def endpoint(url: str, moto: MotoS3, **extra: object) -> S3Endpoint:
    return S3Endpoint.model_validate(
        {
            "endpoint_url": url,
            "access_key_id": moto.key_id,
            "secret_access_key": moto.secret,
            "region": moto.region,
            **extra,
        }
    )


def routed(cos: ObjectStore, cfs_root: Path) -> ObjectStore:
    return SchemeRouter({"cos": cos, "cfs": FolderStore(cfs_root)})


def folder_backend(tmp_path: Path, _request: pytest.FixtureRequest) -> Backend:
    return Backend(
        name="folder",
        store=routed(FolderStore(tmp_path / "cos"), tmp_path / "cfs"),
        bucket="bucket-1250000000",
        cfs_root=tmp_path / "cfs",
        unreachable=lambda: FolderStore(tmp_path / "not-mounted", create=False),
    )


def s3_backend(tmp_path: Path, request: pytest.FixtureRequest) -> Backend:
    moto: MotoS3 = request.getfixturevalue("moto_s3")  # started only when an S3 test runs
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there once the probe socket closes
    return Backend(
        name="s3",
        store=routed(s3_store(endpoint(moto.url, moto)), tmp_path / "cfs"),
        bucket=moto.new_bucket(),
        cfs_root=tmp_path / "cfs",
        unreachable=lambda: s3_store(endpoint(closed, moto, max_attempts=2, connect_timeout_s=2)),
    )


BACKENDS: dict[str, Callable[[Path, pytest.FixtureRequest], Backend]] = {
    "folder": folder_backend,
    "s3": s3_backend,
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return BACKENDS[request.param](tmp_path, request)


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def tree(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` by its relative path, for comparing folders in one assert."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }
