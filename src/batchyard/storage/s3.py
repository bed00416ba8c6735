"""``cos://`` objects on any S3-compatible endpoint, through s3fs.

S3 publishes an object only when its upload completes: a single PUT (below twice s3fs's part size)
is atomic, and a multipart upload becomes an object only on its final request (s3fs aborts it on an
error; a crash leaves invisible parts that the bucket's lifecycle rules clean up). So unlike the
folder store, writes need no temporary name.

A download asks for the object itself first (one GET) rather than whether there is one (a HEAD, then
the GET): S3 answers ``NoSuchKey`` alike for a folder's name and for nothing, and only then is the
prefix listed. An input costs one request, as it would to any other S3 client.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fsspec import AbstractFileSystem

from batchyard.config.settings import S3Endpoint
from batchyard.storage.store import FsspecObjectStore


class S3ObjectStore(FsspecObjectStore):
    """The fsspec store over s3fs, whose downloads skip the HEAD that would precede each GET."""

    def _get_object(self, target: str, local: Path) -> bool:
        """The GET tells an object from the rest: a HEAD first would cost a request per object
        fetched, for the rare key that is a folder. s3fs opens the local file only once the GET
        has answered, and ``replacing`` removes it on any failure, so a miss leaves no file (the
        destination's parent folder is made, as by every ``get``)."""
        try:
            self._download(target, local)
        except FileNotFoundError:  # NoSuchKey, or NoSuchBucket: the listing tells which
            return False
        return True


def s3_store(endpoint: S3Endpoint) -> FsspecObjectStore:
    """The store for ``object_store = "s3"``; it connects on its first copy, not here."""
    return S3ObjectStore(_filesystem(endpoint), bucket_naming(endpoint))


def bucket_naming(endpoint: S3Endpoint) -> Callable[[str], str]:
    """Where a COS bucket (``<name>-<appid>``) starts on the endpoint: a bucket of its own (named
    as is, or after a prefix), or a top-level folder of the one configured bucket."""
    if endpoint.bucket is not None:
        shared = endpoint.bucket
        return lambda bucket: f"{shared}/{bucket}"
    prefix = endpoint.bucket_prefix
    return lambda bucket: f"{prefix}{bucket}"


def _filesystem(endpoint: S3Endpoint) -> AbstractFileSystem:
    """A private s3fs instance: fsspec's instance cache would share one between differently
    configured stores, and its listings cache would hide objects other hosts wrote since."""
    from s3fs import S3FileSystem  # imported only when configured: botocore is slow to load

    secret = endpoint.secret_access_key
    fs = S3FileSystem(
        endpoint_url=endpoint.endpoint_url,
        key=endpoint.access_key_id,
        secret=secret.get_secret_value() if secret is not None else None,
        client_kwargs={"region_name": endpoint.region} if endpoint.region else {},
        config_kwargs=_client_config(endpoint),
        skip_instance_cache=True,
        use_listings_cache=False,
    )
    fs.retries = 1  # botocore retries (``max_attempts``); a second layer would multiply the waits
    return fs


def _client_config(endpoint: S3Endpoint) -> dict[str, Any]:
    return {
        "connect_timeout": endpoint.connect_timeout_s,
        "read_timeout": endpoint.read_timeout_s,
        "retries": {"mode": "standard", "max_attempts": endpoint.max_attempts},
        "s3": {"addressing_style": endpoint.addressing_style},
    }
