"""Checks on a job's task graph, done before anything is stored."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from graphlib import CycleError, TopologicalSorter

from batchyard.domain.errors import ApiError


def order_tasks(names: Sequence[str], edges: Iterable[tuple[str, str]]) -> list[str]:
    """Validate the DAG given as (start, end) edges and return the task names in a topological order.

    Unknown names are ``InvalidParameterValue.DependenceNotFoundTaskName``; cycles (self-loops
    included) are ``InvalidParameterValue.DependenceUnfeasible``.
    """
    known = set(names)
    graph: dict[str, set[str]] = {name: set() for name in names}
    for start, end in edges:
        for name in (start, end):
            if name not in known:
                raise ApiError(
                    "InvalidParameterValue.DependenceNotFoundTaskName",
                    f"The dependence names task `{name}`, which is not in the job.",
                )
        graph[end].add(start)
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        cycle = " -> ".join(str(n) for n in exc.args[1])
        raise ApiError(
            "InvalidParameterValue.DependenceUnfeasible", f"The dependences form a cycle: {cycle}."
        ) from exc
