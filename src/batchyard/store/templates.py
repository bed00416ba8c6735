"""Task templates in the store: their rows and tags, the list's filters, and the quota's count.

Every function takes the caller's transaction, so the count and the insert it allows, or the
lookup of every id and the delete, commit together. Each list filter is a SQL condition served by
an index of ``tables.py`` (scope and name on the templates, key and value on their tags).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from batchyard.store.tables import task_template_tags, task_templates

TemplateFilter = ColumnElement[bool]

_TAGS = task_template_tags.c


@dataclass(frozen=True)
class NewTemplate:
    template_id: str
    account: str
    region: str
    name: str
    description: str
    info: dict[str, Any]  # the Task as given, without its unset members
    tags: list[dict[str, str]]
    create_time: float


class DuplicateTemplateId(Exception):
    """The random template id collided with an existing one; the caller rolls back and draws another."""


def insert_template(conn: Connection, template: NewTemplate) -> int:
    try:
        query = insert(task_templates).returning(task_templates.c.pk)
        template_pk = int(conn.execute(query, asdict(template)).scalar_one())
    except IntegrityError as exc:
        raise DuplicateTemplateId(template.template_id) from exc
    if template.tags:
        rows = [{"template_pk": template_pk, "key": t["Key"], "value": t["Value"]} for t in template.tags]
        conn.execute(insert(task_template_tags), rows)
    return template_pk


def count_templates(conn: Connection, account: str, region: str) -> int:
    query = select(func.count()).select_from(task_templates).where(*_scope(account, region))
    return int(conn.scalar(query) or 0)


def templates_by_ids(
    conn: Connection, account: str, region: str, template_ids: Collection[str]
) -> dict[str, Any]:
    """The caller's templates among ``template_ids``, by id; the others are absent."""
    ids = task_templates.c.template_id.in_(sorted(template_ids))
    query = select(task_templates).where(ids, *_scope(account, region))
    return {row.template_id: row for row in conn.execute(query)}


def update_template(conn: Connection, template_pk: int, values: Mapping[str, Any]) -> None:
    """Only the columns ModifyTaskTemplate changes: name, description, info."""
    conn.execute(update(task_templates).where(task_templates.c.pk == template_pk).values(dict(values)))


def delete_templates(conn: Connection, template_pks: Sequence[int]) -> None:
    """Their tags go with them (the foreign key cascades)."""
    conn.execute(delete(task_templates).where(task_templates.c.pk.in_(list(template_pks))))


def page_templates(
    conn: Connection, account: str, region: str, where: Sequence[TemplateFilter], offset: int, limit: int
) -> tuple[int, list[Any]]:
    """Newest first, with the total before paging."""
    base: Select[Any] = select(task_templates).where(*_scope(account, region), *where)
    total = conn.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = list(conn.execute(base.order_by(task_templates.c.pk.desc()).offset(offset).limit(limit)))
    return int(total), rows


# List filters: each builds one condition, AND-ed by the caller.


def filter_ids(values: Sequence[str]) -> TemplateFilter:
    return task_templates.c.template_id.in_(list(values))


def filter_names(values: Sequence[str]) -> TemplateFilter:
    return task_templates.c.name.in_(list(values))


def filter_tag_keys(values: Sequence[str]) -> TemplateFilter:
    return exists().where(_TAGS.template_pk == task_templates.c.pk, _TAGS.key.in_(list(values)))


def filter_tag_values(values: Sequence[str]) -> TemplateFilter:
    return exists().where(_TAGS.template_pk == task_templates.c.pk, _TAGS.value.in_(list(values)))


def filter_tag(key: str, values: Sequence[str]) -> TemplateFilter:
    return exists().where(
        _TAGS.template_pk == task_templates.c.pk, _TAGS.key == key, _TAGS.value.in_(list(values))
    )


def _scope(account: str, region: str) -> tuple[TemplateFilter, TemplateFilter]:
    return task_templates.c.account == account, task_templates.c.region == region
