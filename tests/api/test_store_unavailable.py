"""A store that cannot write answers at once with a clear error, applies nothing, and serves again once back.

Each failure is real: another process holding SQLite's write lock, the database files made
immutable (the kernel then refuses writes even to root, as a read-only remount would), or a full
file system; SQLite's own errors travel through the real server to the official SDK.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from conftest import Server, call, make_client, running, submit, task, wait_for, wait_job

UNAVAILABLE = "The store is unavailable"


@pytest.fixture
def impatient(tmp_path: Path) -> Iterator[Server]:
    """A server whose writers give up on a locked database after 0.2 s instead of 30 s."""
    yield from running(Server(tmp_path / "data", config="sqlite_busy_timeout_s = 0.2\n"))


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Server]:
    """A server whose data dir is a 64 MiB tmpfs of its own, so filling it fills nothing else."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(data_dir)]
    if subprocess.run(mount, capture_output=True).returncode != 0:
        pytest.fail("needs permission to mount a tmpfs (run as root, as make test and CI do)")
    try:
        yield from running(Server(data_dir))
    finally:
        subprocess.run(["umount", "--lazy", str(data_dir)], check=True)


@contextmanager
def disk_filled(server: Server) -> Iterator[None]:
    """Every free byte of the data dir's file system taken by one file, given back on exit."""
    filler = server.data_dir / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, bytes(1 << 20))
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
    try:
        yield
    finally:
        filler.unlink()


@contextmanager
def write_lock_held(server: Server) -> Iterator[None]:
    """Another process takes SQLite's write lock, as a backup tool or a second server would."""
    blocker = sqlite3.connect(server.data_dir / "batchyard.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


@contextmanager
def writes_refused(server: Server) -> Iterator[None]:
    """The database and its WAL made immutable: every write fails in the kernel, for root too."""
    files = [str(p) for p in server.data_dir.glob("batchyard.db*") if not p.name.endswith("-shm")]
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", *files]).returncode != 0:
        pytest.fail("needs chattr on a file system with the immutable flag, as root")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *files], check=True)


def refused_submit(server: Server) -> tuple[TencentCloudSDKException, float]:
    """One SubmitJob from a fresh client: the error it got and how long it took to come."""
    client = make_client(server.endpoint)
    start = time.monotonic()
    with pytest.raises(TencentCloudSDKException) as refused:
        submit(client, task("t", "true"))
    return refused.value, time.monotonic() - start


def job_count(server: Server) -> int:
    return int(call(make_client(server.endpoint), "DescribeJobs", {}).TotalCount)


def server_log(tmp_path: Path) -> str:
    return next(tmp_path.glob("server-*.log")).read_text()


def test_writers_queued_on_a_locked_store_all_fail_within_the_wait_budget(
    impatient: Server, tmp_path: Path
) -> None:
    """Eight SubmitJobs at once: each is told plainly, within the 0.2 s budget, not 8 x 0.2 s."""
    before = job_count(impatient)
    with write_lock_held(impatient), ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda _: refused_submit(impatient), range(8)))
        assert job_count(impatient) == before, "reads go on while the store is locked"
    for error, seconds in outcomes:
        assert error.code == "InternalError"
        assert UNAVAILABLE in error.message and "the request was not applied" in error.message
        assert seconds < 1.5
    assert any("(database is locked)" in error.message for error, _ in outcomes)
    assert job_count(impatient) == before, "nothing was half-written"
    client = make_client(impatient.endpoint)
    assert wait_job(client, submit(client, task("t", "true"))).JobState == "SUCCEED"
    log = server_log(tmp_path)
    assert log.count("store unavailable (") == 1, "one line for the whole outage"
    assert log.count("store available again") == 1
    assert "Traceback" not in log


def test_a_store_that_refuses_writes_answers_at_once_and_serves_again_when_writable(
    server: Server, tmp_path: Path
) -> None:
    """The default 30 s busy timeout does not apply: an I/O error is final, so it is reported at once."""
    client = make_client(server.endpoint)
    earlier = submit(client, task("t", "echo earlier"))
    wait_job(client, earlier)
    with writes_refused(server):
        error, seconds = refused_submit(server)
        assert job_count(server) == 1
    assert error.code == "InternalError"
    assert f"{UNAVAILABLE} (disk I/O error); the request was not applied" in error.message
    assert seconds < 5
    assert job_count(server) == 1, "nothing was half-written"
    later = submit(client, task("t", "echo later"))
    assert wait_job(client, later).JobState == "SUCCEED"
    assert call(client, "DescribeJob", {"JobId": earlier}).JobState == "SUCCEED"
    assert "Traceback" not in server_log(tmp_path)


def test_a_full_disk_refuses_submits_at_once_and_they_succeed_once_space_is_back(
    small_disk: Server, tmp_path: Path
) -> None:
    client = make_client(small_disk.endpoint)
    wait_job(client, submit(client, task("t", "true")))
    with disk_filled(small_disk):
        error, seconds = refused_submit(small_disk)
        assert job_count(small_disk) == 1
    assert f"{UNAVAILABLE} (database or disk is full); the request was not applied" in error.message
    assert seconds < 5
    assert job_count(small_disk) == 1, "nothing was half-written"
    assert wait_job(client, submit(client, task("t", "true"))).JobState == "SUCCEED"
    assert "Traceback" not in server_log(tmp_path)


def test_a_store_locked_for_a_while_delays_but_loses_no_outcome(impatient: Server, tmp_path: Path) -> None:
    """Scheduler ticks fail while another writer holds the database; the outcome is recorded after."""
    client = make_client(impatient.endpoint)
    job_id = submit(client, task("t", "sleep 0.5; echo done"))
    wait_for(lambda: call(client, "DescribeJob", {"JobId": job_id}).JobState == "RUNNING")

    with write_lock_held(impatient):
        time.sleep(2.5)  # the command ends meanwhile; ticks fail on the lock and are retried

    job = wait_job(client, job_id)
    assert job.JobState == "SUCCEED"
    view = call(client, "DescribeTask", {"JobId": job_id, "TaskName": "t"}).TaskInstanceSet[0]
    assert (view.TaskInstanceState, view.ExitCode) == ("SUCCEED", 0)
    log = server_log(tmp_path)
    assert log.count("store unavailable (database is locked)") == 1, "the lock really made a tick fail"
    assert "Traceback" not in log, "retried ticks log no stack trace"
