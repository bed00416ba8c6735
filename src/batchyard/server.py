"""The composition root: settings in, a running server out. Nothing else builds collaborators.

Backends are chosen from dicts of factories by name, so an unknown name fails at start-up with
the list of known ones rather than deep inside a request.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from starlette.applications import Starlette

from batchyard.api.actions import ACTIONS, Services
from batchyard.api.app import ApiEndpoint, MetricsPage, create_app
from batchyard.api.nonces import NonceLedger
from batchyard.api.ratelimit import RateLimiter
from batchyard.config.credentials import Credentials, load_or_create
from batchyard.config.settings import Settings
from batchyard.console.site import console_app
from batchyard.domain.resources import Resources
from batchyard.events.delivery import Deliveries, Sink
from batchyard.events.webhook import WebhookSink
from batchyard.executors.base import Executor, Host
from batchyard.executors.local import HOST_NAME, LocalExecutor
from batchyard.executors.slurm.executor import SlurmExecutor, SlurmSettings
from batchyard.executors.slurm.tools import SlurmError
from batchyard.metrics.registry import Metrics
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
from batchyard.storage.factory import object_store, store_settings
from batchyard.storage.store import ObjectStore
from batchyard.store.database import Database

log = logging.getLogger(__name__)
T = TypeVar("T")

ExecutorFactory = Callable[[Settings, ObjectStore, Isolation], Executor]

EXECUTORS: dict[str, ExecutorFactory] = {
    "local": lambda s, store, isolation: LocalExecutor(
        runs_dir(s),
        store,
        Host(HOST_NAME, Resources(s.local.cpus, s.local.memory_gib, s.local.gpus)),
        s.kill_grace_seconds,
        isolation,
    ),
    "slurm": lambda s, store, isolation: _slurm(s, store, isolation),
}


def _slurm(settings: Settings, store: ObjectStore, isolation: Isolation) -> Executor:
    """Nodes on the cluster reach the store as the server does: the runner there reads its settings
    from a file only root can read. A store that is a folder of this machine cannot serve nodes on
    others, so that ends the start with what to configure instead."""
    store_file = settings.data_dir.resolve() / "runner-store.json"
    fd = os.open(store_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(store_settings(settings), f)
    slurm = settings.slurm
    config = SlurmSettings(slurm.partition, slurm.poll_s, slurm.idle_poll_s, slurm.hosts_poll_s, os.environ)
    try:
        executor = SlurmExecutor(
            runs_dir(settings), store, config, store_file, settings.kill_grace_seconds, isolation
        )
    except SlurmError as exc:
        raise SystemExit(f"the Slurm cluster cannot be used: {exc}") from None
    if executor.elsewhere and settings.object_store == "local":
        raise SystemExit(
            f"the Slurm nodes {', '.join(executor.elsewhere)} are on other machines, which cannot reach "
            'this machine\'s cos:// folder: configure object_store = "s3" and [s3] (docs/cluster.md)'
        )
    return executor


def sinks(settings: Settings) -> dict[str, Sink]:
    """Each configured topic's sink: a webhook, the one kind of sink there is."""
    config = settings.notifications
    return {topic: WebhookSink(url, config.timeout_s) for topic, url in config.topics.items()}


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
    store = object_store(settings)
    isolation = probe_isolation(settings.sandbox, private_folders(settings))
    executor = _pick(EXECUTORS, settings.executor, "executor")(settings, store, isolation)
    catalog = {name: Resources(t.cpu, t.memory_gib, t.gpu) for name, t in settings.instance_types.items()}
    metrics = Metrics.build(db, ACTIONS, settings.notifications.topics)
    deliveries = Deliveries(db, sinks(settings), settings.notifications, metrics.notifications)
    scheduler = Scheduler(db, executor, catalog, metrics=metrics.scheduler, notify=deliveries.wake)
    sampler = UsageSampler(db, executor, settings.monitor.period_s)
    services = Services(
        submitter=JobSubmitter(db, settings, scheduler.wake, isolation.sandboxed),
        jobs=JobReader(db, settings.zones),
        tasks=TaskReader(db, settings.log_tail_bytes, executor.log_tail),
        control=JobControl(
            db, executor.forget_job, scheduler.settle_now, settings.refuse_terminate_with_env_id
        ),
        envs=ComputeEnvService(db, settings, scheduler.settle_now, deliveries.wake),
        templates=TaskTemplateService(db, settings),
        monitor=MonitorReader(db, settings.monitor.period_s),
        catalog=InstanceCatalog(settings.instance_types, settings.zones, executor.hosts),
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await deliveries.start()  # first: the scheduler's first ticks may store events
        await scheduler.start()
        sampler.start()
        log.info("batchyard is ready on %s", settings.url)
        try:
            yield
        finally:
            await sampler.stop()
            await scheduler.stop()
            await deliveries.stop()  # last: what the scheduler stored while stopping waits for the next start
            db.close()

    limits = settings.rate_limits
    limiter = RateLimiter(limits.per_second) if limits.enabled else None
    endpoint = ApiEndpoint(services, credentials, settings.zones, limiter, NonceLedger(), metrics.requests)
    console = console_app(list(settings.zones))
    return create_app(endpoint, MetricsPage(metrics.registry), console, lifespan), credentials
