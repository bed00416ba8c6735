"""The composition root: settings in, a running server out. Nothing else builds collaborators.

Backends are chosen from dicts of factories by name, so an unknown name fails at start-up with
the list of known ones rather than deep inside a request.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from starlette.applications import Starlette

from batchyard.api.actions import Services
from batchyard.api.app import ApiEndpoint, create_app
from batchyard.api.nonces import NonceLedger
from batchyard.api.ratelimit import RateLimiter
from batchyard.config.credentials import Credentials, load_or_create
from batchyard.config.settings import Settings
from batchyard.domain.resources import Resources
from batchyard.executors.base import Executor, Host
from batchyard.executors.local import HOST_NAME, LocalExecutor
from batchyard.runner.sandbox import Isolation, probe_isolation
from batchyard.scheduler.controller import Scheduler
from batchyard.scheduler.sampler import UsageSampler
from batchyard.service.catalog import InstanceCatalog
from batchyard.service.compute_envs import ComputeEnvService
from batchyard.service.control import JobControl
from batchyard.service.jobs import JobReader
from batchyard.service.monitor import MonitorReader
from batchyard.service.submit import JobSubmitter
from batchyard.service.tasks import TaskReader
from batchyard.service.templates import TaskTemplateService
from batchyard.storage.folder import FolderStore, cfs_store
from batchyard.storage.paths import CFS, COS
from batchyard.storage.s3 import s3_store
from batchyard.storage.store import ObjectStore, SchemeRouter
from batchyard.store.database import Database

log = logging.getLogger(__name__)
T = TypeVar("T")

StoreFactory = Callable[[Settings], ObjectStore]
ExecutorFactory = Callable[[Settings, ObjectStore, Isolation], Executor]

# cos:// paths go to the named store; cfs:// paths always to the mount root.
OBJECT_STORES: dict[str, StoreFactory] = {
    "local": lambda s: SchemeRouter(
        {COS: FolderStore(s.data_dir / "cos"), CFS: cfs_store(s.cfs.mount_root, s.data_dir)}
    ),
    "s3": lambda s: SchemeRouter({COS: s3_store(s.s3), CFS: cfs_store(s.cfs.mount_root, s.data_dir)}),
}
EXECUTORS: dict[str, ExecutorFactory] = {
    "local": lambda s, store, isolation: LocalExecutor(
        runs_dir(s),
        store,
        Host(HOST_NAME, Resources(s.local.cpus, s.local.memory_gib, s.local.gpus)),
        s.kill_grace_seconds,
        isolation,
    ),
}


def runs_dir(settings: Settings) -> Path:
    """Absolute, as wrappers write their journals from inside their working folders."""
    return (settings.data_dir / "runs").resolve()


def private_folders(settings: Settings) -> list[str]:
    """Folders no attempt may see, even inside a folder its sandbox shows: the data dir (credentials,
    database, other jobs' logs and workspaces), the SQLite database's folder and the cfs:// root."""
    folders = [settings.data_dir, settings.cfs.mount_root]
    if settings.sqlite_url.startswith(_SQLITE):
        folders.append(Path(settings.sqlite_url[len(_SQLITE) :].split("?")[0]).parent)
    return [os.path.realpath(folder) for folder in folders if folder is not None]


_SQLITE = "sqlite:///"


def _pick(factories: dict[str, T], name: str, what: str) -> T:
    if name not in factories:
        raise SystemExit(f"unknown {what} {name!r}; known: {', '.join(sorted(factories))}")
    return factories[name]


def build(settings: Settings) -> tuple[Starlette, Credentials]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    credentials, created = load_or_create(settings.data_dir, os.environ)
    if created is not None:
        log.warning("generated an API key pair in %s (show it with `batchyard credentials show`)", created)
    db = Database(settings.sqlite_url, settings.sqlite_busy_timeout_s)
    db.migrate()
    store = _pick(OBJECT_STORES, settings.object_store, "object store")(settings)
    isolation = probe_isolation(settings.sandbox, private_folders(settings))
    executor = _pick(EXECUTORS, settings.executor, "executor")(settings, store, isolation)
    catalog = {name: Resources(t.cpu, t.memory_gib, t.gpu) for name, t in settings.instance_types.items()}
    scheduler = Scheduler(db, executor, catalog)
    sampler = UsageSampler(db, executor, settings.monitor.period_s)
    services = Services(
        submitter=JobSubmitter(db, settings, scheduler.wake, isolation.sandboxed),
        jobs=JobReader(db, settings.zones),
        tasks=TaskReader(db, settings.log_tail_bytes, executor.log_tail),
        control=JobControl(
            db, executor.forget_job, scheduler.settle_now, settings.refuse_terminate_with_env_id
        ),
        envs=ComputeEnvService(db, settings, scheduler.settle_now),
        templates=TaskTemplateService(db, settings),
        monitor=MonitorReader(db, settings.monitor.period_s),
        catalog=InstanceCatalog(settings.instance_types, settings.zones, executor.hosts),
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await scheduler.start()
        sampler.start()
        log.info("batchyard is ready on %s", settings.url)
        try:
            yield
        finally:
            await sampler.stop()
            await scheduler.stop()
            db.close()

    limits = settings.rate_limits
    limiter = RateLimiter(limits.per_second) if limits.enabled else None
    endpoint = ApiEndpoint(services, credentials, settings.zones, limiter, NonceLedger())
    return create_app(endpoint, lifespan), credentials
