"""InputMappings, OutputMappings and a PACKAGE's PackagePath: checked at submit, so a job never fails
later for a path that could never work.

Local paths are where the command sees the data: relative to its working folder, or absolute (the
``/data/input/`` of Batch's examples). An absolute path is made by mounting a folder at it, which
only the sandbox can do; without one it is refused, saying how to get one. No local path may climb
out of the working folder (``..``) or land on the system folders the sandbox keeps read-only.
"""

from __future__ import annotations

import posixpath
from typing import Final

from batchyard.domain.errors import ApiError
from batchyard.schema.common import Application, InputMapping, OutputMapping
from batchyard.storage.paths import parse_remote

MAPPINGS_MAX: Final = 10  # of each kind per task
LOCAL_PATH_MAX_BYTES: Final = 1024
PACKAGE_SUFFIXES: Final = (".tgz", ".tar.gz", ".zip")
MOUNT_TYPES: Final = (None, "", "COSFS", "GooseFS-Lite")  # all copied in: the data is the same
# Absolute destinations a sandbox may not mount over: the system it keeps read-only, and its own
# /proc and /dev. Everything else (/data, /opt/data, /tmp/t1, /mnt...) is the user's to choose.
_SYSTEM_FOLDERS: Final = (
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/proc",
    "/sbin",
    "/sys",
    "/usr",
    "/var",
)
NO_SANDBOX: Final = (
    "absolute local paths need the sandbox, which is off on this server (install bubblewrap and the "
    "task user, see docs/security.md); use a path relative to the working folder"
)

Pairs = tuple[tuple[str, str], ...]


def inputs(mappings: list[InputMapping] | None, where: str, sandboxed: bool) -> Pairs:
    """(remote source, local folder) of each input mapping; a source ending in / is a prefix."""
    _check_count(mappings, f"{where}.InputMappings")
    pairs = []
    for i, m in enumerate(mappings or []):
        at = f"{where}.InputMappings.{i}"
        if m.MountType not in MOUNT_TYPES:
            raise ApiError("InvalidParameterValue", f"`{at}.MountType` must be COSFS or GooseFS-Lite.")
        check_remote(m.SourcePath, f"{at}.SourcePath", directory=False)
        pairs.append((m.SourcePath, local_path(m.DestinationPath, f"{at}.DestinationPath", sandboxed)))
    return tuple(pairs)


def outputs(mappings: list[OutputMapping] | None, where: str, sandboxed: bool) -> Pairs:
    """(local file or folder, remote folder) of each output mapping."""
    _check_count(mappings, f"{where}.OutputMappings")
    pairs = []
    for i, m in enumerate(mappings or []):
        at = f"{where}.OutputMappings.{i}"
        workspace = m.OutputMappingOption.Workspace if m.OutputMappingOption else None
        if workspace not in (None, "", "BATCH_WORKSPACE", "GLOBAL_WORKSPACE"):
            raise ApiError(
                "InvalidParameterValue",
                f"`{at}.OutputMappingOption.Workspace` must be BATCH_WORKSPACE or GLOBAL_WORKSPACE.",
            )
        source = local_path(m.SourcePath, f"{at}.SourcePath", sandboxed)
        check_remote(m.DestinationPath, f"{at}.DestinationPath", directory=True)
        pairs.append((source, m.DestinationPath))
    return tuple(pairs)


def package(app: Application, where: str) -> str | None:
    """The package of a PACKAGE task (which must have one); LOCAL tasks have none."""
    if (app.DeliveryForm or "LOCAL") != "PACKAGE":
        if app.PackagePath:
            raise ApiError(
                "InvalidParameter.InvalidParameterCombination",
                f"`{where}.PackagePath` is for DeliveryForm PACKAGE only.",
            )
        return None
    if not app.PackagePath:
        raise ApiError(
            "MissingParameter", f"The request is missing a required parameter `{where}.PackagePath`."
        )
    check_remote(app.PackagePath, f"{where}.PackagePath", directory=False)
    if not app.PackagePath.lower().endswith(PACKAGE_SUFFIXES):
        raise ApiError(
            "InvalidParameterValue.RemoteStoragePath",
            f"`{where}.PackagePath` must name a {', '.join(PACKAGE_SUFFIXES)} file.",
        )
    return app.PackagePath


def local_path(path: str, where: str, sandboxed: bool) -> str:
    """The path normalised: relative ones stay relative (to the working folder)."""
    normal = posixpath.normpath(path) if path else ""
    if not path or len(path.encode()) > LOCAL_PATH_MAX_BYTES or normal == "." or normal.startswith("../"):
        raise ApiError(
            "InvalidParameterValue.LocalPath",
            f"`{where}` must be a folder inside the working folder, or an absolute path, of at most "
            f"{LOCAL_PATH_MAX_BYTES} bytes, without '..' climbing out.",
        )
    if not normal.startswith("/"):
        return normal
    if not sandboxed:
        raise ApiError("InvalidParameterValue.LocalPath", f"`{where}` `{path}`: {NO_SANDBOX}.")
    if normal in _SYSTEM_FOLDERS or any(normal.startswith(f"{f}/") for f in _SYSTEM_FOLDERS if f != "/"):
        raise ApiError(
            "InvalidParameterValue.LocalPath",
            f"`{where}` `{path}` is inside a system folder the sandbox keeps read-only; "
            "choose another, such as /data/....",
        )
    return normal


def _check_count(mappings: list[InputMapping] | list[OutputMapping] | None, where: str) -> None:
    if mappings is not None and len(mappings) > MAPPINGS_MAX:
        raise ApiError("InvalidParameterValue.LimitExceeded", f"`{where}` holds at most {MAPPINGS_MAX}.")


def check_remote(path: str, where: str, directory: bool) -> None:
    """A remote path as ``parse_remote`` takes it, its error naming the member."""
    try:
        parse_remote(path, directory=directory)
    except ApiError as exc:
        raise ApiError(exc.code, f"`{where}`: {exc.message}") from None
