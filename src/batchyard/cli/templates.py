"""``templates``: the task templates, whose ``TaskTemplateInfo`` a job's task can start from."""

from __future__ import annotations

from typing import Annotated

import typer

from batchyard.cli.client import collect, connect
from batchyard.cli.errors import reported
from batchyard.cli.options import EndpointOption, OutputOption, ProfileOption, RegionOption
from batchyard.cli.output import Output, console, data, print_json, short_moment, table, tags, text
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
    if output is Output.JSON:
        print_json({"TaskTemplateSet": [data(t) for t in found], "TotalCount": total})
        return
    grid = table("TEMPLATE", "NAME", "DESCRIPTION", "TASK", "CREATED", "TAGS")
    grid.caption = f"{len(found)} of {total} task templates"
    for template in found:
        info = template.TaskTemplateInfo
        grid.add_row(
            text(template.TaskTemplateId),
            text(template.TaskTemplateName),
            text(template.TaskTemplateDescription),
            text(info.TaskName if info is not None else None),
            short_moment(template.CreateTime),
            tags(template.Tags),
        )
    console().print(grid)
