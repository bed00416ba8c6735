"""Credentials, region and endpoint, found where and in the order tccli finds them.

One setup then serves both tools. tccli's rules (``parse_global_arg`` in tccli's service modules):

- the profile is ``--profile``, else ``$TCCLI_PROFILE``, else ``default``;
- ``~/.tccli/<profile>.credential`` is JSON with ``secretId``, ``secretKey`` and maybe ``token``;
  ``~/.tccli/<profile>.configure`` is JSON with ``_sys_param.region`` and ``batch.endpoint``;
- unless ``--profile`` is given, ``TENCENTCLOUD_SECRET_ID`` with ``TENCENTCLOUD_SECRET_KEY`` (both, and
  ``TENCENTCLOUD_TOKEN``) replace the file's keys, and ``TENCENTCLOUD_REGION`` its region;
- a flag (``--region``, ``--endpoint``) beats everything.

Only plain key pairs are read: tccli's CVM-role, STS, OAuth and SSO credentials are refused by name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchyard.cli.errors import CliError

DEFAULT_PROFILE = "default"
SERVICE = "batch"
SYS_PARAM = "_sys_param"  # where tccli keeps region and output in a .configure file


@dataclass(frozen=True)
class Flags:
    """What the command line said; None where it said nothing."""

    profile: str | None = None
    region: str | None = None
    endpoint: str | None = None


@dataclass(frozen=True)
class Settings:
    """Everything needed to sign and send a request; ``endpoint`` None means Tencent Cloud's own."""

    secret_id: str
    secret_key: str
    token: str | None
    region: str
    endpoint: str | None
    profile: str


def resolve(flags: Flags, environ: Mapping[str, str], home: Path) -> Settings:
    profile = flags.profile or environ.get("TCCLI_PROFILE") or DEFAULT_PROFILE
    folder = home / ".tccli"
    cred = _json_file(folder / f"{profile}.credential")
    conf = _json_file(folder / f"{profile}.configure")
    use_environment = flags.profile is None
    secret_id, secret_key, token = _keys(cred, environ if use_environment else {}, profile)
    env_region = environ.get("TENCENTCLOUD_REGION") if use_environment else None
    region = flags.region or env_region or _region(conf)
    if not region:
        raise CliError(
            f"no region: give --region, set TENCENTCLOUD_REGION, or put one in ~/.tccli/{profile}.configure"
        )
    endpoint = flags.endpoint or _service(conf).get("endpoint") or None
    return Settings(secret_id, secret_key, token, region, endpoint, profile)


def _keys(cred: Mapping[str, Any], environ: Mapping[str, str], profile: str) -> tuple[str, str, str | None]:
    """The environment's pair if it has both halves, else the profile's, which must then be complete."""
    if environ.get("TENCENTCLOUD_SECRET_ID") and environ.get("TENCENTCLOUD_SECRET_KEY"):
        token = environ.get("TENCENTCLOUD_TOKEN") or None
        return environ["TENCENTCLOUD_SECRET_ID"], environ["TENCENTCLOUD_SECRET_KEY"], token
    kind = cred.get("type")
    if kind not in (None, "", "secret"):
        raise CliError(f"~/.tccli/{profile}.credential holds a `{kind}` credential; only key pairs are read")
    if not (cred.get("secretId") and cred.get("secretKey")):
        raise CliError(
            "no credentials: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, "
            f"or write ~/.tccli/{profile}.credential (`tccli configure`)"
        )
    return str(cred["secretId"]), str(cred["secretKey"]), cred.get("token") or None


def _region(conf: Mapping[str, Any]) -> str | None:
    """tccli 3.0.30 and older kept the region at the top of the file; later versions in ``_sys_param``."""
    sys_param = conf.get(SYS_PARAM)
    nested = sys_param.get("region") if isinstance(sys_param, dict) else None
    value = nested or conf.get("region")
    return str(value) if value else None


def _service(conf: Mapping[str, Any]) -> Mapping[str, Any]:
    section = conf.get(SERVICE)
    return section if isinstance(section, dict) else {}


def _json_file(path: Path) -> Mapping[str, Any]:
    """A missing file is an empty one, as for tccli; a malformed one stops the command, saying which."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise CliError(f"{path} is not a JSON object")
    return data
