"""Remote paths: what is accepted, what each names, and what is refused at submit."""

from __future__ import annotations

import pytest

from batchyard.domain.errors import ApiError
from batchyard.storage.paths import RemotePath, parse_remote


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("cfs://10.0.0.8/share/dir/", RemotePath("cfs", "10.0.0.8", "share/dir/")),
        ("nfs://10.0.0.8/share/dir/", RemotePath("cfs", "10.0.0.8", "share/dir/")),
        ("cfs://CFS-1.Example.com/", RemotePath("cfs", "cfs-1.example.com", "")),
        ("cos://b-1250000000.cos.ap-guangzhou.myqcloud.com/", RemotePath("cos", "b-1250000000", "")),
    ],
)
def test_cfs_and_cos_paths_parse_to_one_canonical_form(url: str, expected: RemotePath) -> None:
    assert parse_remote(url, directory=True) == expected


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("hdfs://namenode/data/", "InvalidParameterValue.RemoteStorageSchemeType"),
        ("cos:/bucket/data/", "InvalidParameterValue.RemoteStorageSchemeType"),
        ("cfs://10.0.0.8:2049/data/", "InvalidParameterValue.RemoteStoragePath"),
        ("cfs:///data/", "InvalidParameterValue.RemoteStoragePath"),
        ("cfs://../data/", "InvalidParameterValue.RemoteStoragePath"),
        ("cfs://-bad.host/data/", "InvalidParameterValue.RemoteStoragePath"),
        ("cfs://10.0.0.8/../data/", "InvalidParameterValue.RemoteStoragePath"),
        ("cfs://10.0.0.8/a/../../data/", "InvalidParameterValue.RemoteStoragePath"),
        ("cos://bucket/a//b/", "InvalidParameterValue.RemoteStoragePath"),
        ("cos://bucket//a/", "InvalidParameterValue.RemoteStoragePath"),
        ("cos://bucket/./a/", "InvalidParameterValue.RemoteStoragePath"),
        ("cos://bucket/a/..", "InvalidParameterValue.RemoteStoragePath"),
    ],
)
def test_malformed_or_climbing_remote_paths_are_refused(url: str, code: str) -> None:
    with pytest.raises(ApiError) as info:
        parse_remote(url, directory=url.endswith("/"))
    assert info.value.code == code


def test_a_remote_path_knows_its_url_its_children_and_whether_it_is_a_folder() -> None:
    folder = parse_remote("cos://b-1.cos.ap-beijing.myqcloud.com/out/", directory=True)
    assert folder.url == "cos://b-1/out/" and folder.is_prefix
    assert folder.child("x/y.txt").key == "out/x/y.txt"
    name = parse_remote("cos://b-1/out", directory=False)
    assert not name.is_prefix and name.child("y").key == "out/y"
    assert parse_remote("cos://b-1/", directory=True).child("y").key == "y"
