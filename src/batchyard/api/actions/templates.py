"""Task template actions: each handler only moves a parsed request into a use case and back."""

from __future__ import annotations

from batchyard.api.actions.registry import Action, Services
from batchyard.schema.jobs import OkResponse
from batchyard.schema.templates import (
    CreateTaskTemplateRequest,
    CreateTaskTemplateResponse,
    DeleteTaskTemplatesRequest,
    DescribeTaskTemplatesRequest,
    DescribeTaskTemplatesResponse,
    ModifyTaskTemplateRequest,
)
from batchyard.service.context import Caller


def create_task_template(
    s: Services, caller: Caller, r: CreateTaskTemplateRequest
) -> CreateTaskTemplateResponse:
    return CreateTaskTemplateResponse(TaskTemplateId=s.templates.create(caller, r))


def describe_task_templates(
    s: Services, caller: Caller, r: DescribeTaskTemplatesRequest
) -> DescribeTaskTemplatesResponse:
    return s.templates.describe_many(caller, r)


def modify_task_template(s: Services, caller: Caller, r: ModifyTaskTemplateRequest) -> OkResponse:
    s.templates.modify(caller, r)
    return OkResponse()


def delete_task_templates(s: Services, caller: Caller, r: DeleteTaskTemplatesRequest) -> OkResponse:
    s.templates.delete(caller, r.TaskTemplateIds)
    return OkResponse()


ACTIONS: dict[str, Action] = {
    "CreateTaskTemplate": Action(CreateTaskTemplateRequest, create_task_template),
    "DescribeTaskTemplates": Action(DescribeTaskTemplatesRequest, describe_task_templates),
    "ModifyTaskTemplate": Action(ModifyTaskTemplateRequest, modify_task_template),
    "DeleteTaskTemplates": Action(DeleteTaskTemplatesRequest, delete_task_templates),
}
