"""The task template actions: one task kept under a name, to be reused in jobs.

Rules batchyard decided where the documentation is silent:
- ``TaskTemplateInfo`` is checked by the very functions SubmitJob runs on each of its tasks
  (``task_validation.task_name`` and ``check_task``), so a template is refused with the code a job
  holding that task would get, its message naming ``TaskTemplateInfo…`` instead of ``Job.Tasks.N…``.
  That includes an ``EnvId``, which must name one of the caller's environments that takes tasks now.
  The task is kept as given (the parsed Task, without its unset members) and returned as kept.
- A template is one task, and a Task has no dependences: they belong to a job, between its tasks. So
  the documented ``DependenceNotFoundTaskName`` and ``DependenceUnfeasible`` never arise here, and
  ``TaskName`` is required as in SubmitJob, as a job's dependences and log names will refer to it.
- ``TaskTemplateName`` holds 1..60 characters, not all blank and no control characters;
  ``TaskTemplateDescription`` at most 200; tags follow SubmitJob's rules.
- ``quotas.task_templates`` templates per account and region (``LimitExceeded.TaskTemplateQuota``),
  counted in the transaction that inserts the new one.
- ModifyTaskTemplate replaces what it is given (the whole task for ``TaskTemplateInfo``); it cannot
  change tags, as the API has no member for them.
- DeleteTaskTemplates is all or nothing: one malformed or unknown id deletes none. An id given twice
  is deleted once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from sqlalchemy import Connection

from batchyard.config.settings import Settings
from batchyard.domain.errors import ApiError
from batchyard.domain.ids import ENV_ID, TASK_TEMPLATE_ID, new_id
from batchyard.domain.times import iso
from batchyard.schema.common import Task
from batchyard.schema.templates import (
    CreateTaskTemplateRequest,
    DescribeTaskTemplatesRequest,
    DescribeTaskTemplatesResponse,
    ModifyTaskTemplateRequest,
    TaskTemplateView,
)
from batchyard.service import limits, listing, views
from batchyard.service.context import Caller
from batchyard.service.fields import check_length, check_tags
from batchyard.service.task_validation import check_task, task_name
from batchyard.store import envs, templates
from batchyard.store.database import Database

TEMPLATES_LIMIT_DEFAULT: Final = 20
TEMPLATES_LIMIT_MAX: Final = 100
DELETE_IDS_MAX: Final = 100
ID_PREFIX: Final = "task-tmpl"
INFO: Final = "TaskTemplateInfo"
MALFORMED: Final = "InvalidParameter.TaskTemplateIdMalformed"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ID_ATTEMPTS: Final = 5

_FILTERS: Final[Mapping[str, Callable[[Sequence[str]], templates.TemplateFilter]]] = {
    "task-template-name": templates.filter_names,
    "tag-key": templates.filter_tag_keys,
    "tag-value": templates.filter_tag_values,
}


class TaskTemplateService:
    def __init__(self, db: Database, settings: Settings, sandboxed: bool = False) -> None:
        """``sandboxed``: as for SubmitJob, whether a template's mappings may use absolute paths."""
        self._db = db
        self._sandboxed = sandboxed
        self._zones = settings.zones
        self._instance_types = settings.instance_types
        self._quota = settings.quotas.task_templates

    def create(self, caller: Caller, request: CreateTaskTemplateRequest) -> str:
        template = self._new_template(caller, request)
        for _ in range(_ID_ATTEMPTS):
            try:
                with self._db.write() as conn:
                    self._check_quota(conn, caller)
                    templates.insert_template(conn, template)
            except templates.DuplicateTemplateId:
                template = replace(template, template_id=new_id(ID_PREFIX))
                continue
            return template.template_id
        raise ApiError("InternalError", "Could not allocate a task template id; please retry.")

    def describe_many(
        self, caller: Caller, request: DescribeTaskTemplatesRequest
    ) -> DescribeTaskTemplatesResponse:
        where = _selection(request)
        offset, limit = listing.page(
            request.Offset, request.Limit, TEMPLATES_LIMIT_DEFAULT, TEMPLATES_LIMIT_MAX
        )
        with self._db.read() as conn:
            total, rows = templates.page_templates(conn, caller.account, caller.region, where, offset, limit)
        return DescribeTaskTemplatesResponse(TaskTemplateSet=[_view(row) for row in rows], TotalCount=total)

    def modify(self, caller: Caller, request: ModifyTaskTemplateRequest) -> None:
        _check_id(request.TaskTemplateId, "TaskTemplateId")
        given = (request.TaskTemplateName, request.TaskTemplateDescription, request.TaskTemplateInfo)
        if all(member is None for member in given):
            raise ApiError("InvalidParameterAtLeastOneAttribute")
        values: dict[str, Any] = {}
        if request.TaskTemplateName is not None:
            values["name"] = _checked_name(request.TaskTemplateName)
        if request.TaskTemplateDescription is not None:
            values["description"] = _checked_description(request.TaskTemplateDescription)
        if request.TaskTemplateInfo is not None:
            values["info"] = self._checked_info(caller, request.TaskTemplateInfo)
        with self._db.write() as conn:
            template = _find(conn, caller, [request.TaskTemplateId])[0]
            templates.update_template(conn, template.pk, values)

    def delete(self, caller: Caller, template_ids: list[str]) -> None:
        """All or nothing: every id is looked up in the transaction that deletes them."""
        wanted = _delete_ids(template_ids)
        with self._db.write() as conn:
            found = _find(conn, caller, wanted)
            templates.delete_templates(conn, [row.pk for row in found])

    # Helpers ---------------------------------------------------------------------------------------

    def _new_template(self, caller: Caller, request: CreateTaskTemplateRequest) -> templates.NewTemplate:
        """Every value rule of the request, in member order, before anything is written."""
        name = _checked_name(request.TaskTemplateName)
        info = self._checked_info(caller, request.TaskTemplateInfo)
        description = _checked_description(request.TaskTemplateDescription or "")
        check_tags(request.Tags or [], "Tags")
        return templates.NewTemplate(
            template_id=new_id(ID_PREFIX),
            account=caller.account,
            region=caller.region,
            name=name,
            description=description,
            info=info,
            tags=[{"Key": t.Key, "Value": t.Value} for t in request.Tags or []],
            create_time=time.time(),
        )

    def _checked_info(self, caller: Caller, task: Task) -> dict[str, Any]:
        """The task as given, once it passes every rule SubmitJob applies to one of its tasks."""
        task_name(task.TaskName, f"{INFO}.TaskName")
        env_types = self._env_types(caller, task)
        check_task(task, INFO, self._zones, caller.region, self._instance_types, env_types, self._sandboxed)
        return task.model_dump(exclude_none=True)

    def _env_types(self, caller: Caller, task: Task) -> dict[str, str]:
        """The instance type of the task's named environment if it is the caller's and takes tasks, as
        SubmitJob resolves it; ``check_task`` refuses an ``EnvId`` missing here."""
        if task.EnvId is None or not ENV_ID.fullmatch(task.EnvId):
            return {}
        with self._db.read() as conn:
            found = envs.usable_envs(conn, caller.account, caller.region, {task.EnvId})
        return {env_id: env.instance_type for env_id, env in found.items()}

    def _check_quota(self, conn: Connection, caller: Caller) -> None:
        if templates.count_templates(conn, caller.account, caller.region) >= self._quota:
            raise ApiError(
                "LimitExceeded.TaskTemplateQuota",
                f"At most {self._quota} task templates per account and region.",
            )


def _find(conn: Connection, caller: Caller, template_ids: Sequence[str]) -> list[Any]:
    """The caller's templates, in the order asked, or ``ResourceNotFound.TaskTemplate`` for the first
    one missing."""
    found = templates.templates_by_ids(conn, caller.account, caller.region, template_ids)
    for template_id in template_ids:
        if template_id not in found:
            raise ApiError(
                "ResourceNotFound.TaskTemplate", f"The task template `{template_id}` does not exist."
            )
    return [found[template_id] for template_id in template_ids]


def _check_id(template_id: str, where: str) -> None:
    if not TASK_TEMPLATE_ID.fullmatch(template_id):
        raise ApiError(MALFORMED, f"`{where}` `{template_id}` is not a task template id.")


def _delete_ids(template_ids: list[str]) -> list[str]:
    """1..100 well-formed ids, each once."""
    if not 0 < len(template_ids) <= DELETE_IDS_MAX:
        raise ApiError(
            "InvalidParameterValue.LimitExceeded", f"TaskTemplateIds takes 1..{DELETE_IDS_MAX} ids."
        )
    for i, template_id in enumerate(template_ids):
        _check_id(template_id, f"TaskTemplateIds.{i}")
    return list(dict.fromkeys(template_ids))


def _checked_name(name: str) -> str:
    """Names are shown in lists and matched whole by the name filter: one line of visible text."""
    code = "InvalidParameter.TaskTemplateNameTooLong"
    check_length(name, limits.TASK_TEMPLATE_NAME_MAX, code, "TaskTemplateName")
    if not name.strip() or _CONTROL.search(name):
        raise ApiError(
            "InvalidParameter.TaskTemplateName",
            "TaskTemplateName must not be blank and must not hold control characters.",
        )
    return name


def _checked_description(description: str) -> str:
    code = "InvalidParameter.TaskTemplateDescriptionTooLong"
    check_length(description, limits.TASK_TEMPLATE_DESCRIPTION_MAX, code, "TaskTemplateDescription")
    return description


def _selection(request: DescribeTaskTemplatesRequest) -> list[templates.TemplateFilter]:
    ids, filters = request.TaskTemplateIds, request.Filters
    listing.check_ids_xor_filters(ids, filters, "TaskTemplateIds", TASK_TEMPLATE_ID, MALFORMED)
    if ids is not None:
        return [templates.filter_ids(ids)]
    return listing.conditions(filters or [], _FILTERS, templates.filter_tag)


def _view(row: Any) -> TaskTemplateView:
    return TaskTemplateView(
        TaskTemplateId=row.template_id,
        TaskTemplateName=row.name,
        TaskTemplateDescription=row.description,
        TaskTemplateInfo=Task.model_validate(row.info),
        CreateTime=iso(row.create_time),
        Tags=views.tags(row),
    )
