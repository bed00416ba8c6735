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
    return RemotePath(scheme, bucket, key)
