"""How every command writes: ``--output table`` for people, ``--output json`` for scripts.

Tables are rich tables whose cells are plain ``Text``, so a job name or a reason with brackets in it is
shown as written, never read as markup. JSON is the API's own members, so a script written against the
API reads the CLI's output unchanged.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from batchyard.domain.states import FAILED_STATES, State

# Piped into a file or grep, a table keeps one row per line: the 80 columns rich assumes would fold it.
PIPE_WIDTH = 200

FREE_TEXT_COLUMNS = frozenset({"NAME", "TASK", "NODES", "TAGS", "CAUSE", "REASON", "DESCRIPTION"})

STATE_STYLES: dict[str, str] = {
    State.SUCCEED: "green",
    State.RUNNING: "cyan",
    State.STARTING: "cyan",
    **{state: "red" for state in FAILED_STATES},
}


class Output(StrEnum):
    TABLE = "table"
    JSON = "json"


def console() -> Console:
    """The console for stdout: no colour and no width guess when it is not a terminal."""
    out = Console(highlight=False)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out = Console(highlight=False, width=PIPE_WIDTH)
    return out


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def data(model: Any) -> Any:
    """An SDK model as the API's JSON members (None where the API left a member out)."""
    return json.loads(model.to_json_string())


def table(*columns: str) -> Table:
    """A borderless table. On a narrow terminal only its free-text columns wrap: an id, a state or a
    time folded over two lines could no longer be copied or read."""
    grid = Table(title_justify="left", caption_justify="left", box=None, pad_edge=False)
    for column in columns:
        wraps = column in FREE_TEXT_COLUMNS
        grid.add_column(
            column, header_style="bold", overflow="fold" if wraps else "ellipsis", no_wrap=not wraps
        )
    return grid


def print_listing(
    output: Output,
    found: Sequence[Any],
    total: int,
    what: tuple[str, str],
    columns: Sequence[str],
    row: Callable[[Any], Sequence[Text]],
) -> None:
    """A page of a Describe… listing: ``what`` is the API's set member and the plural the caption
    counts; JSON is that set and its TotalCount, a table has a row per item."""
    member, plural = what
    if output is Output.JSON:
        print_json({member: [data(item) for item in found], "TotalCount": total})
        return
    grid = table(*columns)
    grid.caption = f"{len(found)} of {total} {plural}"
    for item in found:
        grid.add_row(*row(item))
    console().print(grid)


def state(value: str | None) -> Text:
    """A state in its colour: green done, red failed, cyan running, plain waiting."""
    if not value:
        return Text("-")
    return Text(value, style=STATE_STYLES.get(value, ""))


def text(value: Any) -> Text:
    return Text("-" if value is None or value == "" else str(value))


def moment(value: str | None) -> Text:
    """An API time (ISO 8601, UTC) in the reader's time zone, to the second."""
    return _moment(value, "%Y-%m-%d %H:%M:%S")


def short_moment(value: str | None) -> Text:
    """``moment`` without the year, for table columns, which have little room."""
    return _moment(value, "%m-%d %H:%M:%S")


def _moment(value: str | None, form: str) -> Text:
    when = parse_time(value)
    return Text("-" if when is None else when.astimezone().strftime(form))


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def duration(start: str | None, end: str | None) -> Text:
    """From start to end, or to now while there is no end."""
    began = parse_time(start)
    if began is None:
        return Text("-")
    ended = parse_time(end) or datetime.now(UTC)
    return Text(span(max(0.0, (ended - began).total_seconds())))


def span(seconds: float) -> str:
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def tags(value: list[Any] | None) -> Text:
    return Text(", ".join(f"{t.Key}={t.Value}" for t in value or []) or "-")
