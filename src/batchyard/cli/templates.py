"""``templates``: the task templates, whose ``TaskTemplateInfo`` a job's task can start from."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from batchyard.cli.client import collect, connect
from batchyard.cli.errors import reported
from batchyard.cli.options import EndpointOption, OutputOption, ProfileOption, RegionOption
from batchyard.cli.output import Output, print_listing, short_moment, tags, text
from batchyard.cli.profiles import Flags

PAGE = 100  # DescribeTaskTemplates' largest Limit


def list_templates(
    limit: Annotated[int, typer.Option(help="At most this many.", min=1)] = 20,
    endpoint: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """List the task templates, newest first."""
    with reported():
        api = connect(Flags(profile, region, endpoint))
        found, total = collect(api.describe_templates, 0, limit, PAGE)
    columns = ("TEMPLATE", "NAME", "DESCRIPTION", "TASK", "CREATED", "TAGS")
    print_listing(output, found, total, ("TaskTemplateSet", "task templates"), columns, _template_row)


def _template_row(template: Any) -> list[Text]:
    info = template.TaskTemplateInfo
    return [
        text(template.TaskTemplateId),
        text(template.TaskTemplateName),
        text(template.TaskTemplateDescription),
        text(info.TaskName if info is not None else None),
        short_moment(template.CreateTime),
        tags(template.Tags),
    ]
