"""Actions as data: each wire Action name maps to its request model and its handler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from batchyard.schema.base import ApiModel
from batchyard.service.catalog import InstanceCatalog
from batchyard.service.compute_envs import ComputeEnvService
from batchyard.service.context import Caller
from batchyard.service.control import JobControl
from batchyard.service.jobs import JobReader
from batchyard.service.monitor import MonitorReader
from batchyard.service.submit import JobSubmitter
from batchyard.service.tasks import TaskReader
from batchyard.service.templates import TaskTemplateService


@dataclass(frozen=True)
class Services:
    """The use cases the API may call, built once by the composition root."""

    submitter: JobSubmitter
    jobs: JobReader
    tasks: TaskReader
    control: JobControl
    envs: ComputeEnvService
    templates: TaskTemplateService
    monitor: MonitorReader
    catalog: InstanceCatalog


Handler = Callable[[Services, Caller, Any], ApiModel]


@dataclass(frozen=True)
class Action:
    request: type[ApiModel]
    handler: Handler
    # Small indexed reads answer on the event loop: a worker-thread hop would cost more than they do.
    inline: bool = False
