"""Remote paths as users write them, reduced to (scheme, bucket, key).

``cos://<bucket>-<appid>.cos.<region>.myqcloud.com/<key>`` and ``cos://<bucket>-<appid>/<key>`` name
the same object; the legacy ``cos<short-region>.myqcloud.com`` host form of the official examples
(``cos://b-1251783334.cosgz.myqcloud.com/logs/``) is accepted too. ``cfs://<host>/<path>`` names a file
on a CFS (NFS) file system, which nodes see under a mount root; ``nfs://`` is its other spelling in
Tencent's documentation and names the same file.

Every refusal here happens at submit, with the API's own codes, so a path that could climb out of its
bucket or mount root (``..``), or that two backends would read differently (``a//b``, ``a/./b``: one
file in a folder, three keys in S3), never reaches a store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from batchyard.domain.errors import ApiError

COS = "cos"
CFS = "cfs"
# Each scheme users may write, and the scheme it is stored under.
_SCHEMES = {"cos": COS, "cfs": CFS, "nfs": CFS}
_COS_HOST = re.compile(r"^(?P<bucket>[^.]+)\.cos[a-z0-9-]*(\.[a-z0-9-]+)?\.myqcloud\.com$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# An IPv4 address or a DNS name, without a port: the CFS mount target's address.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_CFS_HOST = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
_CFS_HOST_MAX = 253
# What S3-compatible stores and local file systems all take: a key of at most 1 KiB, no name of
# more than 255 bytes between its slashes.
KEY_MAX_BYTES = 1024
SEGMENT_MAX_BYTES = 255


@dataclass(frozen=True)
class RemotePath:
    """A parsed remote path.

    ``bucket`` is the COS bucket (``<name>-<appid>``) for ``cos``, the file system's host for ``cfs``.
    ``key`` never starts with ``/``; it ends with ``/`` when the user named a folder (a prefix), and it
    is empty for the whole bucket.
    """

    scheme: str
    bucket: str
    key: str

    @property
    def url(self) -> str:
        """The canonical spelling, for messages: the short ``cos://bucket/key`` form."""
        return f"{self.scheme}://{self.bucket}/{self.key}"

    @property
    def is_prefix(self) -> bool:
        """True when the path names a folder: it ends with ``/`` or is a whole bucket."""
        return self.key == "" or self.key.endswith("/")

    def child(self, relative: str) -> RemotePath:
        """The path of ``relative`` (``a/b.txt``) under this folder path."""
        base = self.key if self.is_prefix else self.key + "/"
        return RemotePath(self.scheme, self.bucket, base + relative)


def parse_remote(url: str, *, directory: bool) -> RemotePath:
    """Parse a user's remote path, refusing it with the API's own codes.

    ``directory=True`` is for RedirectInfo paths and mapping destinations, which must end in ``/``.
    """
    written, sep, rest = url.partition("://")
    scheme = _SCHEMES.get(written) if sep else None
    if scheme is None:
        raise ApiError(
            "InvalidParameterValue.RemoteStorageSchemeType",
            f"The remote path `{url[:100]}` must start with cos:// or cfs://.",
        )
    host, _, key = rest.partition("/")
    bucket = _cos_bucket(host) if scheme == COS else _cfs_host(host)
    if bucket is None or not well_formed(key) or (directory and not url.endswith("/")):
        raise ApiError(
            "InvalidParameterValue.RemoteStoragePath",
            f"The remote path `{url[:100]}` is not a valid {'directory ' if directory else ''}path"
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


def _cos_bucket(host: str) -> str | None:
    match = _COS_HOST.match(host)
    bucket = match.group("bucket") if match else host
    return bucket if _BUCKET.match(bucket) else None


def _cfs_host(host: str) -> str | None:
    """Host names are case-insensitive: one folder under the mount root whatever the spelling."""
    host = host.lower()
    return host if len(host) <= _CFS_HOST_MAX and _CFS_HOST.match(host) else None


def well_formed(key: str) -> bool:
    """No empty, ``.`` or ``..`` name between slashes; only the last may be empty (a folder)."""
    *inner, last = key.split("/")
    return all(segment not in ("", ".", "..") for segment in inner) and last not in (".", "..")


def _check_key(key: str, url: str) -> None:
    if len(key.encode()) > KEY_MAX_BYTES or any(
        len(segment.encode()) > SEGMENT_MAX_BYTES for segment in key.split("/")
    ):
        raise ApiError(
            "InvalidParameterValue.RemoteStoragePath",
            f"The remote path `{url[:100]}…` is too long: keys take at most {KEY_MAX_BYTES} bytes, "
            f"each name between slashes at most {SEGMENT_MAX_BYTES}.",
        )
