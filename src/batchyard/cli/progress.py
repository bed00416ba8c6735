"""The live display of ``submit --wait``: one bar for the job and one per task, filled by finished instances.

Each row says how many instances wait, run, succeeded and failed, from the same ``JobSnapshot`` the
final summary is drawn from. Rows appear in the job's task order, so dependants sit below their
predecessors.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from batchyard.cli.output import STATE_STYLES
from batchyard.cli.snapshot import Counts, JobSnapshot

JOB_ROW = ""  # the key of the job's own row among the task rows


class Board:
    """Rich progress bars kept in step with successive snapshots of one job."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[state]}"),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._rows: dict[str, TaskID] = {}

    def show(self, snap: JobSnapshot) -> None:
        self._update(
            JOB_ROW, f"[bold]{escape(snap.job_id)}[/]", snap.state, Counts.of(snap.job.TaskInstanceMetrics)
        )
        for name in snap.task_names():
            detail = snap.tasks.get(name)
            counts = detail.counts if detail is not None else Counts.of(None)
            task_state = detail.state if detail is not None else "SUBMITTED"
            self._update(name, f"  {escape(name)}", task_state, counts)

    def _update(self, key: str, label: str, state: str, counts: Counts) -> None:
        if key not in self._rows:
            self._rows[key] = self.progress.add_task(label, total=None, state="", counts="")
        style = STATE_STYLES.get(state, "yellow")
        self.progress.update(
            self._rows[key],
            total=counts.total or None,
            completed=counts.finished,
            state=f"[{style}]{escape(state)}[/]",
            counts=_tally(counts),
        )


def _tally(counts: Counts) -> str:
    parts = [
        f"{counts.waiting} waiting" if counts.waiting else "",
        f"[cyan]{counts.running} running[/]" if counts.running else "",
        f"[green]{counts.succeeded} succeeded[/]" if counts.succeeded else "",
        f"[red]{counts.failed} failed[/]" if counts.failed else "",
    ]
    return " · ".join(p for p in parts if p)
