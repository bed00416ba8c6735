"""``batchyard logs``: an instance's stdout or stderr, once or followed while it runs.

DescribeTaskLogs returns the last bytes of each log (2048 on batchyard, as on Tencent Cloud), as a
``data:`` URI. ``--follow`` looks again until the instance has ended and prints only what a look adds
to the one before: the two tails overlap, and what follows the overlap is new. Output that grows by more
than one tail between two looks loses its middle, and a log of identical repeated lines may show fewer
of them; the whole log is in the task's ``RedirectInfo`` storage.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from batchyard.cli.client import Api, connect
from batchyard.cli.errors import CliError, ExitStatus, reported
from batchyard.cli.options import EndpointOption, OutputOption, ProfileOption, RegionOption
from batchyard.cli.output import Output
from batchyard.cli.profiles import Flags
from batchyard.domain.states import TERMINAL

FOLLOW_INTERVAL_S = 0.5
BASE64_MARK = ";base64,"


def logs(
    job_id: Annotated[str, typer.Argument(metavar="JOB_ID", show_default=False)],
    task_name: Annotated[str, typer.Argument(metavar="TASK", show_default=False)],
    index: Annotated[int, typer.Argument(metavar="[INDEX]", help="The task instance.", min=0)] = 0,
    stderr: Annotated[
        bool, typer.Option("--stderr", help="Standard error instead of standard output.")
    ] = False,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Print what is added until it ends.")
    ] = False,
    endpoint: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Print the end of a task instance's log (table: as written; json: one object per piece)."""
    stream = "stderr" if stderr else "stdout"
    writer = _Writer(job_id, task_name, index, stream, output)
    with reported():
        api = connect(Flags(profile, region, endpoint))
        if follow:
            _follow(api, writer)
        else:
            writer.write(_tail(api, writer))


@dataclass(frozen=True)
class _Writer:
    """Writes log bytes as they are (table), or as JSON objects naming the instance and stream (json)."""

    job_id: str
    task_name: str
    index: int
    stream: str
    output: Output

    def write(self, piece: bytes) -> None:
        if self.output is Output.JSON:
            record = {
                "JobId": self.job_id,
                "TaskName": self.task_name,
                "TaskInstanceIndex": self.index,
                "Stream": self.stream,
                "Log": piece.decode(errors="replace"),
            }
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            sys.stdout.buffer.write(piece)
        sys.stdout.flush()


def _tail(api: Api, writer: _Writer) -> bytes:
    log = api.task_log(writer.job_id, writer.task_name, writer.index)
    return decode(log.StderrLog if writer.stream == "stderr" else log.StdoutLog)


def _follow(api: Api, writer: _Writer) -> None:
    """Until the instance is finished: look at its state, then at its log, and print what is new.

    The state is read first, so the look that finds it finished is followed by one more at the log,
    which then is complete."""
    seen = b""
    while True:
        ended = _instance_state(api, writer) in TERMINAL
        tail = _tail(api, writer)
        piece = added(seen, tail)
        if piece:
            writer.write(piece)
        seen = tail
        if ended:
            return
        time.sleep(FOLLOW_INTERVAL_S)


def _instance_state(api: Api, writer: _Writer) -> str:
    response = api.describe_task(writer.job_id, writer.task_name, offset=writer.index, limit=1)
    instances = [i for i in response.TaskInstanceSet or [] if i.TaskInstanceIndex == writer.index]
    if not instances:
        raise CliError(
            f"task `{writer.task_name}` of {writer.job_id} has no instance {writer.index}", ExitStatus.API
        )
    return str(instances[0].TaskInstanceState)


def added(before: bytes, after: bytes) -> bytes:
    """What ``after``, a log's tail now, adds to ``before``, its tail at the previous look.

    A log still shorter than the tail grows at its end; a longer one slides, so ``after`` starts with
    some end of ``before``: the longest such overlap (short of all of ``before``, since the log changed)
    is taken. No overlap at all is a new attempt's log, or more output than a tail: all of it is new."""
    if after == before:
        return b""
    if after.startswith(before):
        return after[len(before) :]
    for size in range(min(len(before), len(after)) - 1, 0, -1):
        if before.endswith(after[:size]):
            return after[size:]
    return after


def decode(value: Any) -> bytes:
    """A DescribeTaskLogs log: a ``data:...;base64,`` URI; None (never started) is empty; plain text as is."""
    if not value:
        return b""
    text = str(value)
    if text.startswith("data:") and BASE64_MARK in text:
        return base64.b64decode(text.split(BASE64_MARK, 1)[1])
    return text.encode()
