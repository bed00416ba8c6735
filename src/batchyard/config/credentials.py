"""API key pairs and the accounts they belong to.

The initial pair comes from ``BATCHYARD_SECRET_ID``/``BATCHYARD_SECRET_KEY``; without them the first
start generates one and keeps it in ``<data-dir>/credentials.json`` (mode 0600), so the same pair keeps
working across restarts and the user can read it back with ``batchyard credentials show``.
"""

from __future__ import annotations

import json
import os
import secrets
import string
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_ACCOUNT = "default"
FILE_NAME = "credentials.json"
_ALNUM = string.ascii_letters + string.digits


@dataclass(frozen=True)
class KeyPair:
    secret_id: str
    secret_key: str
    account: str = DEFAULT_ACCOUNT


class Credentials:
    def __init__(self, pairs: Iterable[KeyPair]) -> None:
        self._by_id = {p.secret_id: p for p in pairs}

    def secret_key(self, secret_id: str) -> str | None:
        pair = self._by_id.get(secret_id)
        return None if pair is None else pair.secret_key

    def account(self, secret_id: str) -> str:
        return self._by_id[secret_id].account

    @property
    def pairs(self) -> list[KeyPair]:
        return list(self._by_id.values())


def generate() -> KeyPair:
    return KeyPair(
        secret_id="AKID" + "".join(secrets.choice(_ALNUM) for _ in range(32)),
        secret_key="".join(secrets.choice(_ALNUM) for _ in range(32)),
    )


def credentials_file(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def from_environment(env: Mapping[str, str]) -> KeyPair | None:
    secret_id, secret_key = env.get("BATCHYARD_SECRET_ID"), env.get("BATCHYARD_SECRET_KEY")
    if secret_id and secret_key:
        return KeyPair(secret_id, secret_key)
    return None


def read_file(path: Path) -> list[KeyPair]:
    return [KeyPair(**pair) for pair in json.loads(path.read_text())["keys"]]


def write_file(path: Path, pairs: Iterable[KeyPair]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"keys": [asdict(p) for p in pairs]}, f, indent=2)


def load_or_create(data_dir: Path, env: Mapping[str, str]) -> tuple[Credentials, Path | None]:
    """The server's key pairs, and the file path if this call generated the first pair."""
    from_env = from_environment(env)
    if from_env is not None:
        return Credentials([from_env]), None
    path = credentials_file(data_dir)
    if path.exists():
        return Credentials(read_file(path)), None
    write_file(path, [generate()])
    return Credentials(read_file(path)), path
