"""Requests and responses of the task template actions: create, describe, modify and delete.

Members, their order, types and required flags follow tccli's ``api.json`` (see ``common``). As in
``jobs``, response members have no defaults, and mutators answer with ``jobs.OkResponse``.
"""

from __future__ import annotations

from batchyard.schema import common
from batchyard.schema.base import ApiModel, Int64

# Requests


class CreateTaskTemplateRequest(ApiModel):
    TaskTemplateName: str
    TaskTemplateInfo: common.Task
    TaskTemplateDescription: str | None = None
    Tags: list[common.Tag] | None = None


class DescribeTaskTemplatesRequest(ApiModel):
    TaskTemplateIds: list[str] | None = None
    Filters: list[common.Filter] | None = None
    Offset: Int64 | None = None
    Limit: Int64 | None = None


class ModifyTaskTemplateRequest(ApiModel):
    TaskTemplateId: str
    TaskTemplateName: str | None = None
    TaskTemplateDescription: str | None = None
    TaskTemplateInfo: common.Task | None = None


class DeleteTaskTemplatesRequest(ApiModel):
    TaskTemplateIds: list[str]


# Responses


class CreateTaskTemplateResponse(ApiModel):
    TaskTemplateId: str


class TaskTemplateView(ApiModel):
    """A template as stored: ``TaskTemplateInfo`` is the task as it was given."""

    TaskTemplateId: str
    TaskTemplateName: str
    TaskTemplateDescription: str
    TaskTemplateInfo: common.Task
    CreateTime: str
    Tags: list[common.Tag] | None


class DescribeTaskTemplatesResponse(ApiModel):
    TaskTemplateSet: list[TaskTemplateView]
    TotalCount: Int64
