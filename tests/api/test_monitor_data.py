"""DescribeJobMonitorData end to end: a real command burns CPU and holds memory on a node of one CPU and
1 GiB, the server samples it every second, and the SDK reads the series while it runs and after it ended.

The command waits on a *gate* (a file the test creates) so the test decides when it ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.batch.v20170312.batch_client import BatchClient as Client
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from conftest import Server, call, make_client, running, submit, task, wait_for, wait_job

CONFIG = "[monitor]\nperiod_s = 1\n"
# Holds 300 MiB (written, so resident) and spins until the gate exists: ~100 % of one CPU, ~29 % of 1 GiB.
BURN = (
    "python3 -c \"import os,sys; b = b'x' * (300 << 20)\nwhile not os.path.exists(sys.argv[1]): pass\" {gate}"
)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from running(Server(tmp_path_factory.mktemp("monitor") / "data", config=CONFIG))


@pytest.fixture(scope="module")
def sdk(srv: Server) -> Client:
    return make_client(srv.endpoint)


def monitor(sdk: Client, job_id: str, metric: str, **extra: Any) -> Any:
    params = {"JobId": job_id, "TaskName": "burn", "TaskInstanceIndex": 0, "MetricName": metric, **extra}
    return call(sdk, "DescribeJobMonitorData", params)


def sdk_code(action: Callable[[], Any]) -> str:
    with pytest.raises(TencentCloudSDKException) as info:
        action()
    return str(info.value.code)


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@pytest.fixture(scope="module")
def burnt(sdk: Client, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    """A job whose one instance burned a CPU and held 300 MiB; what monitor data said while it ran."""
    gate = tmp_path_factory.mktemp("gate") / "open"
    job_id = submit(sdk, task("burn", BURN.format(gate=gate)))
    seen: dict[str, Any] = {}
    try:

        def busy() -> bool:
            cpu = monitor(sdk, job_id, "CpuUsage").DataPoints
            seen["cpu"] = cpu
            return len([v for v in cpu.Values if v is not None and v > 50]) >= 2

        wait_for(busy, timeout=60, interval=0.5)
        seen["memory"] = monitor(sdk, job_id, "MemUsage").DataPoints
    finally:
        Path(gate).touch()
    assert wait_job(sdk, job_id).JobState == "SUCCEED"
    yield job_id, seen


def test_running_instance_shows_its_cpu_and_memory_use(burnt: tuple[str, dict[str, Any]]) -> None:
    _, seen = burnt
    cpu, memory = seen["cpu"], seen["memory"]
    assert len(cpu.Timestamps) == len(cpu.Values) >= 2
    assert all(b - a == 1 for a, b in zip(cpu.Timestamps, cpu.Timestamps[1:], strict=False))
    assert max(v for v in memory.Values if v is not None) > 20  # 300 MiB of 1 GiB


def test_finished_instance_keeps_its_series_clamped_to_its_life(sdk: Client, burnt: tuple[str, Any]) -> None:
    job_id, seen = burnt
    cpu = monitor(sdk, job_id, "CpuUsage")
    assert cpu.Period == 1
    assert len(cpu.DataPoints.Timestamps) >= len(seen["cpu"].Timestamps)
    assert max(v for v in cpu.DataPoints.Values if v is not None) > 50
    # Asking for more than the instance's life gives the same points: the range is clamped to it.
    wide = monitor(sdk, job_id, "CpuUsage", StartTime="2020-01-01T00:00:00Z", EndTime=iso(time.time() + 3600))
    assert wide.DataPoints.Timestamps == cpu.DataPoints.Timestamps
    first = cpu.DataPoints.Timestamps[0]
    later = monitor(sdk, job_id, "CpuUsage", StartTime=iso(first + 1))
    assert later.DataPoints.Timestamps == cpu.DataPoints.Timestamps[1:]
    after = monitor(sdk, job_id, "CpuUsage", StartTime=iso(time.time() + 60))
    assert (after.DataPoints.Timestamps, after.DataPoints.Values) == ([], [])


def test_disk_usage_is_measured_and_network_is_null_at_each_look(sdk: Client, burnt: tuple[str, Any]) -> None:
    job_id, _ = burnt
    cpu = monitor(sdk, job_id, "CpuUsage").DataPoints
    disk = monitor(sdk, job_id, "MaxDiskUsage").DataPoints
    assert disk.Timestamps == cpu.Timestamps
    assert all(v is not None and 0 < v <= 100 for v in disk.Values)
    for metric in ("LanOuttraffic", "LanIntraffic", "TargetDiskUsage"):
        points = monitor(sdk, job_id, metric).DataPoints
        assert points.Timestamps == cpu.Timestamps
        assert set(points.Values) == {None}
    vdb = monitor(sdk, job_id, "TargetDiskUsage", Dimensions=[{"Name": "diskname", "Value": "vdb"}])
    assert vdb.DataPoints.Timestamps == cpu.Timestamps


def test_instance_that_has_not_run_has_no_points(sdk: Client) -> None:
    job_id = submit(sdk, task("burn", "true"), task("late", "true"))
    wait_job(sdk, job_id)
    params = {"JobId": job_id, "TaskName": "burn", "TaskInstanceIndex": 0, "MetricName": "CpuUsage"}
    answer = call(sdk, "DescribeJobMonitorData", params)
    assert answer.Period == 1
    assert len(answer.DataPoints.Timestamps) == len(answer.DataPoints.Values)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"JobId": "job-bad"}, "InvalidParameter.JobIdMalformed"),
        ({"JobId": "job-00000000"}, "ResourceNotFound.Job"),
        ({"TaskName": "nosuch"}, "ResourceNotFound.Task"),
        ({"TaskInstanceIndex": 1}, "ResourceNotFound.TaskInstance"),
        ({"TaskInstanceIndex": -1}, "ResourceNotFound.TaskInstance"),
        ({"MetricName": "GpuUsage"}, "InvalidParameterValue"),
        ({"Dimensions": [{"Name": "diskname", "Value": "vdb"}]}, "InvalidParameterValue"),
        (
            {"MetricName": "TargetDiskUsage", "Dimensions": [{"Name": "disk", "Value": "vdb"}]},
            "InvalidParameterValue",
        ),
        ({"StartTime": "2025-06-12T02:47:00+08:00"}, "InvalidParameter"),
        ({"EndTime": "yesterday"}, "InvalidParameter"),
        ({"MetricName": None}, "MissingParameter"),
        ({"TaskInstanceIndex": 2**63}, "InvalidParameterValue"),
    ],
)
def test_bad_requests_get_their_error_codes(
    sdk: Client, burnt: tuple[str, Any], change: dict[str, Any], code: str
) -> None:
    job_id, _ = burnt
    params = {"JobId": job_id, "TaskName": "burn", "TaskInstanceIndex": 0, "MetricName": "CpuUsage", **change}
    params = {k: v for k, v in params.items() if v is not None}
    assert sdk_code(lambda: call(sdk, "DescribeJobMonitorData", params)) == code
