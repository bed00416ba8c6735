"""``envs`` lists the named compute environments; ``env`` shows one with its nodes and latest activities."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from batchyard.cli.client import collect, connect
from batchyard.cli.errors import reported
from batchyard.cli.options import EndpointOption, OutputOption, ProfileOption, RegionOption
from batchyard.cli.output import (
    Output,
    console,
    data,
    moment,
    print_json,
    print_listing,
    short_moment,
    state,
    table,
    tags,
    text,
)
from batchyard.cli.profiles import Flags

PAGE = 100  # the largest Limit of DescribeComputeEnvs and DescribeComputeEnvActivities
NODE_METRICS = {
    "SubmittedCount": "submitted",
    "CreatingCount": "creating",
    "CreationFailedCount": "creation failed",
    "CreatedCount": "created",
    "RunningCount": "running",
    "DeletingCount": "deleting",
    "AbnormalCount": "abnormal",
}


def list_envs(
    limit: Annotated[int, typer.Option(help="At most this many.", min=1)] = 20,
    endpoint: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """List the named compute environments, newest first."""
    with reported():
        api = connect(Flags(profile, region, endpoint))
        found, total = collect(api.describe_envs, 0, limit, PAGE)
    columns = ("ENV", "NAME", "ZONE", "DESIRED", "NODES", "CREATED", "TAGS")
    print_listing(output, found, total, ("ComputeEnvSet", "compute environments"), columns, _env_row)


def _env_row(env: Any) -> list[Text]:
    return [
        text(env.EnvId),
        text(env.EnvName),
        text(env.Placement.Zone if env.Placement else None),
        text(env.DesiredComputeNodeCount),
        _node_tally(env.ComputeNodeMetrics),
        short_moment(env.CreateTime),
        tags(env.Tags),
    ]


def show_env(
    env_id: Annotated[str, typer.Argument(metavar="ENV_ID", show_default=False)],
    activities: Annotated[int, typer.Option(help="How many of the latest activities to show.", min=1)] = 20,
    endpoint: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """A compute environment: its nodes, and the latest activities (nodes made and retired, and why)."""
    with reported():
        api = connect(Flags(profile, region, endpoint))
        env = api.describe_env(env_id)
        happened, _ = collect(lambda o, n: api.env_activities(env_id, o, n), 0, activities, PAGE)
    if output is Output.JSON:
        print_json({"ComputeEnv": data(env), "ActivitySet": [data(a) for a in happened]})
        return
    console().print(
        Group(_env_header(env), Text(""), _nodes_table(env), Text(""), _activities_table(happened))
    )


def _env_header(env: Any) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    rows = [
        ("Environment", text(env.EnvId)),
        ("Name", text(env.EnvName)),
        ("Type", text(env.EnvType)),
        ("Zone", text(env.Placement.Zone if env.Placement else None)),
        ("Desired nodes", text(env.DesiredComputeNodeCount)),
        ("Attached nodes", text(env.AttachedComputeNodeCount)),
        ("Nodes", _node_tally(env.ComputeNodeMetrics)),
        ("Created", moment(env.CreateTime)),
        ("Tags", tags(env.Tags)),
    ]
    for name, value in rows:
        grid.add_row(name, value)
    return grid


def _nodes_table(env: Any) -> Table:
    grid = table("NODE", "INSTANCE", "STATE", "CPU", "MEM", "FREE", "CREATED")
    grid.title = "Nodes"
    for node in env.ComputeNodeSet or []:
        grid.add_row(
            text(node.ComputeNodeId),
            text(node.ComputeNodeInstanceId),
            state(node.ComputeNodeState),
            text(node.Cpu),
            text(None if node.Mem is None else f"{node.Mem} GB"),
            text(node.TaskInstanceNumAvailable),
            short_moment(node.ResourceCreatedTime),
        )
    return grid


def _activities_table(happened: list[Any]) -> Table:
    grid = table("STARTED", "NODE", "ACTIVITY", "STATE", "CAUSE", "REASON")
    grid.title = "Activities"
    for activity in happened:
        grid.add_row(
            short_moment(activity.StartTime),
            text(activity.ComputeNodeId),
            text(activity.ComputeNodeActivityType),
            state(activity.ActivityState),
            text(activity.Cause),
            text(activity.StateReason),
        )
    return grid


def _node_tally(metrics: Any) -> Text:
    counts = {label: int(getattr(metrics, name, None) or 0) for name, label in NODE_METRICS.items()}
    return Text(", ".join(f"{n} {label}" for label, n in counts.items() if n) or "none")
