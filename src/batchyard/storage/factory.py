"""The object store a configuration names, for the server and for the runner on a cluster's node.

``cos://`` paths go to the named store; ``cfs://`` paths always to the mount root. An unknown name
fails at start-up with the list of known ones rather than deep inside an attempt.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from batchyard.config.settings import Settings
from batchyard.storage.folder import FolderStore, cfs_store
from batchyard.storage.paths import CFS, COS
from batchyard.storage.s3 import s3_store
from batchyard.storage.store import ObjectStore, SchemeRouter

OBJECT_STORES: dict[str, Callable[[Settings], ObjectStore]] = {
    "local": lambda s: SchemeRouter(
        {COS: FolderStore(s.data_dir / "cos"), CFS: cfs_store(s.cfs.mount_root, s.data_dir)}
    ),
    "s3": lambda s: SchemeRouter({COS: s3_store(s.s3), CFS: cfs_store(s.cfs.mount_root, s.data_dir)}),
}


def object_store(settings: Settings) -> ObjectStore:
    if settings.object_store not in OBJECT_STORES:
        known = ", ".join(sorted(OBJECT_STORES))
        raise SystemExit(f"unknown object store {settings.object_store!r}; known: {known}")
    return OBJECT_STORES[settings.object_store](settings)


def store_settings(settings: Settings) -> dict[str, object]:
    """What a runner on another machine needs to reach the same store, secrets in clear: written only
    to a file of the server's that no attempt can read."""
    s3 = settings.s3.model_dump(mode="json")
    secret = settings.s3.secret_access_key
    s3["secret_access_key"] = None if secret is None else secret.get_secret_value()
    return {
        # Keys the server takes from the usual AWS variables, for the runner's store alone: the
        # runner passes the command the attempt's environment, not its own.
        "aws_environment": {k: v for k, v in os.environ.items() if k.startswith("AWS_")},
        "data_dir": str(settings.data_dir.resolve()),
        "object_store": settings.object_store,
        "s3": s3,
        "cfs": settings.cfs.model_dump(mode="json"),
    }
