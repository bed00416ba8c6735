"""What ``job`` shows, and what ``submit --wait`` ends with: tasks, the DAG, metrics, failed instances.

Built from one ``JobSnapshot``; the failed instances carry their ``StateReason``, which is what a user
needs to fix a job, so both views end with them. ``job`` also says why tasks that wait are waiting,
the question asked most about a job that has not finished.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from batchyard.cli.output import duration, moment, state, table, tags, text
from batchyard.cli.snapshot import Counts, JobSnapshot
from batchyard.domain.states import METRIC_FIELDS


def overview(snap: JobSnapshot) -> RenderableType:
    """The whole job, for ``batchyard job``."""
    parts: list[RenderableType] = [
        header(snap.job),
        tasks_table(snap),
        dag_tree(snap.job),
        metrics_table(snap.job),
    ]
    return Group(*_spaced(parts + waiting(snap) + failures(snap)))


def summary(snap: JobSnapshot) -> RenderableType:
    """How the job ended, for ``submit --wait``: its tasks, its failures and a verdict."""
    return Group(*_spaced([tasks_table(snap), *failures(snap), verdict(snap)]))


def header(job: Any) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    rows: list[tuple[str, Text]] = [
        ("Job", text(job.JobId)),
        ("Name", text(job.JobName)),
        ("State", state(job.JobState)),
        ("Reason", text(job.StateReason)),
        ("Priority", text(job.Priority)),
        ("Zone", text(job.Zone)),
        ("Created", moment(job.CreateTime)),
        ("Ended", moment(job.EndTime)),
        ("Duration", duration(job.CreateTime, job.EndTime)),
        ("Tags", tags(job.Tags)),
    ]
    for name, value in rows:
        grid.add_row(name, value)
    return grid


def tasks_table(snap: JobSnapshot) -> Table:
    grid = table("TASK", "STATE", "INSTANCES", "WAITING", "RUNNING", "SUCCEED", "FAILED", "ELAPSED")
    grid.title = "Tasks"
    for view in snap.job.TaskSet or []:
        detail = snap.tasks.get(view.TaskName)
        counts = detail.counts if detail is not None else Counts.of(None)
        numbers = [counts.total, counts.waiting, counts.running, counts.succeeded, counts.failed]
        grid.add_row(
            text(view.TaskName),
            state(view.TaskState),
            *(text(n) for n in numbers),
            duration(view.CreateTime, view.EndTime),
        )
    return grid


def dag_tree(job: Any) -> Tree:
    """Tasks under the tasks they depend on; a task with several predecessors is drawn once in full."""
    names = [t.TaskName for t in job.TaskSet or []]
    states = {t.TaskName: t.TaskState for t in job.TaskSet or []}
    successors: dict[str, list[str]] = {name: [] for name in names}
    has_predecessor: set[str] = set()
    for edge in job.DependenceSet or []:
        successors.setdefault(edge.StartTask, []).append(edge.EndTask)
        has_predecessor.add(edge.EndTask)
    tree = Tree(Text.assemble(("Dependencies", "bold"), f"  {job.JobId}"))
    drawn: set[str] = set()
    for name in names:
        if name not in has_predecessor:
            _grow(tree, name, successors, states, drawn)
    return tree


def _grow(
    parent: Tree, name: str, successors: Mapping[str, list[str]], states: Mapping[str, str], drawn: set[str]
) -> None:
    if name in drawn:
        parent.add(Text.assemble(name, " ", ("(shown above)", "dim")))
        return
    drawn.add(name)
    branch = parent.add(Text.assemble((name, "bold"), " ", state(states.get(name))))
    for successor in successors.get(name, []):
        _grow(branch, successor, successors, states, drawn)


def metrics_table(job: Any) -> Table:
    """Tasks and instances by state: the job's TaskMetrics and TaskInstanceMetrics."""
    grid = table("STATE", "TASKS", "INSTANCES")
    grid.title = "Metrics"
    tasks, instances = Counts.of(job.TaskMetrics), Counts.of(job.TaskInstanceMetrics)
    for s in METRIC_FIELDS:
        grid.add_row(state(s), text(tasks[s]), text(instances[s]))
    return grid


def waiting(snap: JobSnapshot) -> list[RenderableType]:
    """Tasks with waiting instances and why they wait; nothing when none waits."""
    listed = snap.waiting_tasks()
    if not listed:
        return []
    grid = table("TASK", "WAITING", "REASON")
    grid.title = "Waiting tasks"
    for name, task in listed:
        grid.add_row(text(name), text(task.counts.waiting), text(task.waiting_reason))
    return [grid]


def failures(snap: JobSnapshot) -> list[RenderableType]:
    """The failed instances with their StateReason; nothing when none failed."""
    listed = snap.failed_instances()
    if not listed:
        return []
    unlisted = sum(t.failed_total - len(t.failed_instances) for t in snap.tasks.values())
    grid = table("TASK", "INDEX", "STATE", "EXIT", "NODE", "REASON")
    grid.title = "Failed instances"
    if unlisted > 0:
        grid.caption = f"and {unlisted} more"
    for task_name, instance in listed:
        grid.add_row(
            text(task_name),
            text(instance.TaskInstanceIndex),
            state(instance.TaskInstanceState),
            text(instance.ExitCode),
            text(instance.ComputeNodeInstanceId),
            text(instance.StateReason),
        )
    return [grid]


def verdict(snap: JobSnapshot) -> Text:
    """One line: the job, how it ended, after how long, and why when it failed."""
    job = snap.job
    line = Text.assemble(
        (snap.job_id, "bold"),
        f" ({job.JobName}) ",
        state(job.JobState),
        f" after {duration(job.CreateTime, job.EndTime)}",
    )
    if job.StateReason:
        line.append(f": {job.StateReason}")
    return line


def _spaced(parts: list[RenderableType]) -> list[RenderableType]:
    """A blank line between sections."""
    spaced: list[RenderableType] = []
    for part in parts:
        spaced += [part, Text("")]
    return spaced[:-1]
