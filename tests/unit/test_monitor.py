"""How DescribeJobMonitorData turns stored looks into its series (``service.monitor.data_points``)."""

from __future__ import annotations

from batchyard.service.monitor import MAX_NULLS_IN_A_ROW, data_points


def test_looks_a_period_apart_are_the_series_as_they_are() -> None:
    points = data_points([(100.2, 10.0), (101.1, 20.0), (102.3, None)], period=1)
    assert points.Timestamps == [100, 101, 102]
    assert points.Values == [10.0, 20.0, None]


def test_gap_between_attempts_is_null_points_at_most_ten_in_a_row() -> None:
    short = data_points([(100.0, 1.0), (103.0, 2.0)], period=1)
    assert short.Timestamps == [100, 101, 102, 103]
    assert short.Values == [1.0, None, None, 2.0]
    long = data_points([(100.0, 1.0), (500.0, 2.0)], period=1)
    assert long.Values == [1.0] + [None] * MAX_NULLS_IN_A_ROW + [2.0]
    assert long.Timestamps[-1] == 500


def test_longer_period_averages_the_looks_it_holds() -> None:
    points = data_points([(60.0, 10.0), (70.0, 30.0), (130.0, 50.0)], period=60)
    assert points.Timestamps == [60, 120]
    assert points.Values == [20.0, 50.0]
