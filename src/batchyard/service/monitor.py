"""DescribeJobMonitorData: what an instance's attempts used, sampled by the scheduler's sampler.

Points are the sampler's looks, a period apart, averaged into longer periods when the range would
hold more than ``MAX_POINTS``. Between the attempts of a retried instance nothing ran, and the gap
shows as null points, at most ``MAX_NULLS_IN_A_ROW`` of them (as Tencent documents). Metrics a
node cannot measure here answer null at each look, so a user sees when the instance ran.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from batchyard.domain.errors import ApiError
from batchyard.domain.states import TERMINAL, State
from batchyard.schema.monitor import (
    DataPointView,
    DescribeJobMonitorDataRequest,
    DescribeJobMonitorDataResponse,
)
from batchyard.service.context import Caller
from batchyard.service.tasks import find_task
from batchyard.store import queries, usage
from batchyard.store.database import Database

# Metric -> the sample column that holds it, or None: not measurable on these nodes (null points).
METRICS: dict[str, str | None] = {
    "CpuUsage": "cpu",
    "MemUsage": "memory",
    "MaxDiskUsage": "disk",
    "TargetDiskUsage": None,  # nodes here have no named data disks (vdb...)
    "LanOuttraffic": None,  # attempts share the host's network: no per-node count
    "LanIntraffic": None,
}
DIMENSIONS: dict[str, tuple[str, ...]] = {"TargetDiskUsage": ("diskname",)}
MAX_POINTS = 1440
MAX_NULLS_IN_A_ROW = 10

Series = list[tuple[float, float | None]]


class MonitorReader:
    def __init__(self, db: Database, period_s: int, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._period_s = period_s
        self._clock = clock

    def describe(self, caller: Caller, r: DescribeJobMonitorDataRequest) -> DescribeJobMonitorDataResponse:
        column = _metric(r)
        start, end = _epoch(r.StartTime, "StartTime"), _epoch(r.EndTime, "EndTime")
        with self._db.read() as conn:
            _job, task = find_task(conn, caller, r.JobId, r.TaskName)
            instance = _instance(conn, task, r.TaskInstanceIndex)
            attempts = usage.instance_attempts(conn, task.pk, r.TaskInstanceIndex)
            low, high = self._clamp(instance, attempts, start, end)
            points = (
                []
                if low > high
                else usage.samples(conn, [a.pk for a in attempts], column or "cpu", low, high)
            )
        if column is None:
            points = [(at, None) for at, _ in points]
        period = self._answer_period(low, high)
        return DescribeJobMonitorDataResponse(Period=period, DataPoints=data_points(points, period))

    def _clamp(
        self, instance: Any, attempts: Sequence[Any], start: float | None, end: float | None
    ) -> tuple[float, float]:
        """The asked range within the instance's life: from its first launch to its end, or now."""
        if not attempts:
            return math.inf, -math.inf
        born = float(attempts[0].launch_time)
        ended = instance.end_time if State(instance.state) in TERMINAL else None
        died = self._clock() if ended is None else float(ended)
        return max(born, start if start is not None else born), min(died, end if end is not None else died)

    def _answer_period(self, low: float, high: float) -> int:
        """The sampling period, times what keeps the answer within ``MAX_POINTS`` points."""
        looks = (high - low) / self._period_s if high > low else 0
        return self._period_s * max(1, math.ceil(looks / MAX_POINTS))


def _metric(r: DescribeJobMonitorDataRequest) -> str | None:
    if r.MetricName not in METRICS:
        raise ApiError(
            "InvalidParameterValue",
            f"Unknown MetricName `{r.MetricName}`; known: {', '.join(METRICS)}.",
        )
    allowed = DIMENSIONS.get(r.MetricName, ())
    for i, dimension in enumerate(r.Dimensions or []):
        if dimension.Name not in allowed:
            raise ApiError(
                "InvalidParameterValue",
                f"Dimensions.{i}.Name `{dimension.Name}` does not apply to {r.MetricName}"
                + (f"; it takes {', '.join(allowed)}." if allowed else "; it takes no dimensions."),
            )
    return METRICS[r.MetricName]


def _epoch(value: str | None, where: str) -> float | None:
    """A UTC time as the API takes it (``2025-06-12T02:47:00Z``); other zones are refused."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() != timedelta(0):
        raise ApiError(
            "InvalidParameter", f"{where} `{value}` is not a UTC time such as 2025-06-12T02:47:00Z."
        )
    return moment.timestamp()


def _instance(conn: Any, task: Any, index: int) -> Any:
    rows = queries.instances_by_index(conn, task.pk, [index]) if index < task.instance_num else []
    if not rows:
        raise ApiError("ResourceNotFound.TaskInstance", f"The task `{task.name}` has no instance {index}.")
    return rows[0]


def data_points(points: Series, period: int) -> DataPointView:
    """Average the looks of each period; a gap between looks becomes null points, at most ten."""
    buckets: dict[int, list[float]] = {}
    for at, value in points:
        looks = buckets.setdefault(int(at // period) * period, [])
        if value is not None:
            looks.append(value)
    timestamps: list[int] = []
    values: list[float | None] = []
    for stamp in sorted(buckets):
        if timestamps:
            missing = (stamp - timestamps[-1]) // period - 1
            for _ in range(min(missing, MAX_NULLS_IN_A_ROW)):
                timestamps.append(timestamps[-1] + period)
                values.append(None)
        timestamps.append(stamp)
        looks = buckets[stamp]
        values.append(round(sum(looks) / len(looks), 2) if looks else None)
    return DataPointView(Timestamps=timestamps, Values=values)
