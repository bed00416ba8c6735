"""The job commands besides ``submit``: ``jobs`` lists, ``job`` looks inside one, and the three actions
that change one: ``terminate``, ``retry``, ``delete``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.text import Text

from batchyard.cli.client import Filter, collect, connect
from batchyard.cli.errors import CliError, reported
from batchyard.cli.job_view import overview
from batchyard.cli.options import EndpointOption, OutputOption, ProfileOption, RegionOption
from batchyard.cli.output import (
    Output,
    console,
    data,
    duration,
    print_json,
    print_listing,
    short_moment,
    state,
    tags,
    text,
)
from batchyard.cli.profiles import Flags
from batchyard.cli.snapshot import Counts, take
from batchyard.domain.states import State

JOBS_PAGE = 100  # DescribeJobs' largest Limit

JobId = Annotated[str, typer.Argument(metavar="JOB_ID", show_default=False)]


def list_jobs(
    states: Annotated[
        list[State] | None,
        typer.Option("--state", help="Only jobs in this state (repeatable).", case_sensitive=False),
    ] = None,
    names: Annotated[
        list[str] | None, typer.Option("--name", help="Only jobs of this name (repeatable).")
    ] = None,
    tag_filters: Annotated[
        list[str] | None,
        typer.Option(
            "--tag", metavar="KEY[=VALUE]", help="Only jobs with this tag, or this tag key (repeatable)."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many jobs.", min=1)] = 20,
    offset: Annotated[int, typer.Option(help="Skip this many jobs first.", min=0)] = 0,
    endpoint: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """List jobs, newest first (`job JOB_ID` shows the rest: priority, zone, reason)."""
    with reported():
        filters = job_filters(states or [], names or [], tag_filters or [])
        api = connect(Flags(profile, region, endpoint))
        found, total = collect(lambda o, n: api.describe_jobs(filters, o, n), offset, limit, JOBS_PAGE)
    columns = ("JOB", "NAME", "STATE", "TASKS", "CREATED", "DURATION", "TAGS")
    print_listing(output, found, total, ("JobSet", "jobs"), columns, _job_row)


def _job_row(job: Any) -> list[Text]:
    return [
        text(job.JobId),
        text(job.JobName),
        state(job.JobState),
        _task_tally(job.TaskMetrics),
        short_moment(job.CreateTime),
        duration(job.CreateTime, job.EndTime),
        tags(job.Tags),
    ]


def job_filters(states: Sequence[str], names: Sequence[str], tag_filters: Sequence[str]) -> list[Filter]:
    """DescribeJobs' filters: ``job-state``, ``job-name``, and per tag ``tag:KEY`` or ``tag-key``.

    Values of one option are alternatives; different options, and different tags, must all hold."""
    filters = []
    if states:
        filters.append(Filter("job-state", [str(s) for s in states]))
    if names:
        filters.append(Filter("job-name", list(names)))
    return filters + [_tag_filter(t) for t in tag_filters]


def _tag_filter(option: str) -> Filter:
    key, has_value, value = option.partition("=")
    if not key:
        raise CliError(f"--tag `{option}`: give KEY or KEY=VALUE")
    return Filter(f"tag:{key}", [value]) if has_value else Filter("tag-key", [key])


def _task_tally(metrics: Any) -> Text:
    """Finished tasks of all, red when some failed (``job`` says which)."""
    counts = Counts.of(metrics)
    return Text(f"{counts.finished}/{counts.total}", style="red" if counts.failed else "")


def show_job(
    job_id: JobId,
    endpoint: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """A job's tasks, its dependencies as a tree, its metrics, why its waiting tasks wait and its failed
    instances with their reasons."""
    with reported():
        snap = take(connect(Flags(profile, region, endpoint)), job_id, why_waiting=True)
    if output is Output.JSON:
        print_json(snap.to_data())
    else:
        console().print(overview(snap))


def terminate(
    job_id: JobId,
    endpoint: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Terminate a job: its running instances are killed, the others will not start."""
    with reported():
        response = connect(Flags(profile, region, endpoint)).terminate_job(job_id)
    _done(response, output, f"{job_id}: termination requested")


def retry(
    job_ids: Annotated[list[str], typer.Argument(metavar="JOB_ID...", show_default=False)],
    endpoint: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Run the failed instances of failed jobs again."""
    with reported():
        response = connect(Flags(profile, region, endpoint)).retry_jobs(job_ids)
    _done(response, output, f"{', '.join(job_ids)}: retry requested")


def delete(
    job_id: JobId,
    endpoint: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Delete a finished job and its records."""
    with reported():
        response = connect(Flags(profile, region, endpoint)).delete_job(job_id)
    _done(response, output, f"{job_id}: deleted")


def _done(response: Any, output: Output, message: str) -> None:
    if output is Output.JSON:
        print_json(data(response))
    else:
        console().print(Text(message))
