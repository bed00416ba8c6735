"""``batchyard submit``: send a job file; with ``--wait``, watch the job to its end.

With ``--wait`` the exit status is the job's: 0 only when it SUCCEED, so
``batchyard submit --wait a.yaml && batchyard submit --wait b.yaml`` chains jobs in a shell.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from typing import Annotated, Any

import typer
from rich.text import Text

from batchyard.cli import jobfile
from batchyard.cli.client import Api, connect
from batchyard.cli.errors import ExitStatus, fail, reported, warn
from batchyard.cli.job_view import summary
from batchyard.cli.options import EndpointOption, OutputOption, ProfileOption, RegionOption
from batchyard.cli.output import Output, console, data, print_json
from batchyard.cli.profiles import Flags
from batchyard.cli.progress import Board
from batchyard.cli.snapshot import JobSnapshot, take

POLL_INTERVAL_S = 0.5


def submit(
    job_file: Annotated[
        str,
        typer.Argument(metavar="JOB_FILE", help="A SubmitJob request body, .json or .yaml; - reads stdin."),
    ],
    wait: Annotated[
        bool, typer.Option("--wait", help="Watch the job to its end; exit 0 only if it SUCCEED, else 1.")
    ] = False,
    interval: Annotated[
        float, typer.Option(help="Seconds between two looks at the job.", min=0.1)
    ] = POLL_INTERVAL_S,
    endpoint: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Submit a job; print its id, or with --wait follow it and print how it ended."""
    with reported():
        request, unknown = jobfile.load(job_file)
        for message in unknown:
            warn(message)
        api = connect(Flags(profile, region, endpoint))
        response = api.submit_job(request)
        if not wait:
            _print_submitted(response, output)
            return
        status = _wait(api, str(response.JobId), output, interval)
    raise typer.Exit(status)


def _print_submitted(response: Any, output: Output) -> None:
    """The id alone in table mode, so that ``JOB=$(batchyard submit job.yaml)`` works."""
    if output is Output.JSON:
        print_json(data(response))
    else:
        print(response.JobId)


def _wait(api: Api, job_id: str, output: Output, interval: float) -> ExitStatus:
    """Watch, live on a terminal in table mode, then print the outcome; the job's exit status."""
    out = console()
    live = output is Output.TABLE and out.is_terminal
    if output is Output.TABLE:
        out.print(Text.assemble("Submitted ", (job_id, "bold")))
    try:
        snap = watch(api, job_id, Board(out) if live else None, interval)
    except KeyboardInterrupt:
        fail(
            f"stopped watching; {job_id} goes on (`batchyard terminate {job_id}` ends it)",
            ExitStatus.INTERRUPTED,
        )
    if output is Output.JSON:
        print_json(snap.to_data())
    else:
        out.print(summary(snap))
    return ExitStatus.OK if snap.succeeded else ExitStatus.JOB_FAILED


def watch(api: Api, job_id: str, board: Board | None, interval: float) -> JobSnapshot:
    """Look at the job every ``interval`` seconds until it is finished, drawing each look on ``board``."""
    with board.progress if board is not None else nullcontext():
        snap = take(api, job_id)
        while not snap.finished:
            if board is not None:
                board.show(snap)
            time.sleep(interval)
            snap = take(api, job_id, snap)
    return snap
