"""Remote paths as users write them, reduced to (bucket, key).

``cos://<bucket>-<appid>.cos.<region>.myqcloud.com/<key>`` and ``cos://<bucket>-<appid>/<key>`` name
the same object; the legacy ``cos<short-region>.myqcloud.com`` host form of the official examples
(``cos://b-1251783334.cosgz.myqcloud.com/logs/``) is accepted too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from batchyard.domain.errors import ApiError

_SCHEMES = ("cos",)
_COS_HOST = re.compile(r"^(?P<bucket>[^.]+)\.cos[a-z0-9-]*(\.[a-z0-9-]+)?\.myqcloud\.com$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# What S3-compatible stores and local file systems all take: a key of at most 1 KiB, no name of
# more than 255 bytes between its slashes.
KEY_MAX_BYTES = 1024
SEGMENT_MAX_BYTES = 255


@dataclass(frozen=True)
class RemotePath:
    scheme: str
    bucket: str
    key: str


def parse_remote(url: str, *, directory: bool) -> RemotePath:
    """Parse a user's remote path, refusing it with the API's own codes.

    ``directory=True`` is for RedirectInfo paths and mapping destinations, which must end in ``/``.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in _SCHEMES:
        raise ApiError(
            "InvalidParameterValue.RemoteStorageSchemeType",
            f"The remote path `{url}` must start with cos://.",
        )
    host, _, key = rest.partition("/")
    match = _COS_HOST.match(host)
    bucket = match.group("bucket") if match else host
    if not _BUCKET.match(bucket) or ".." in key.split("/") or (directory and not url.endswith("/")):
        raise ApiError(
            "InvalidParameterValue.RemoteStoragePath",
            f"The remote path `{url}` is not a valid {'directory ' if directory else ''}path"
            + (" (it must end with /)." if directory else "."),
        )
    _check_key(key, url)
    return RemotePath(scheme, bucket, key)


def check_file_name(name: str, where: str) -> None:
    """An object's name inside a directory path: one segment, so it can never climb out of it."""
    if "/" in name or name in (".", "..") or len(name.encode()) > SEGMENT_MAX_BYTES:
        raise ApiError(
            "InvalidParameterValue.RemoteStoragePath",
            f"`{where}` must be a file name of at most {SEGMENT_MAX_BYTES} bytes, without '/', "
            "and neither '.' nor '..'.",
        )


def _check_key(key: str, url: str) -> None:
    if len(key.encode()) > KEY_MAX_BYTES or any(
        len(segment.encode()) > SEGMENT_MAX_BYTES for segment in key.split("/")
    ):
        raise ApiError(
            "InvalidParameterValue.RemoteStoragePath",
            f"The remote path `{url[:100]}…` is too long: keys take at most {KEY_MAX_BYTES} bytes, "
            f"each name between slashes at most {SEGMENT_MAX_BYTES}.",
        )
