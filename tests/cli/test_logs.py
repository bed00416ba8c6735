"""``batchyard logs``: what an instance wrote, once or followed while it runs."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from tencentcloud.batch.v20170312 import batch_client

from batchyard.cli.logs import added, decode
from cli.helpers import BATCHYARD, KEYS, SETUP_PREFIXES, invoke, ok, one_red_line
from conftest import Server, submit, task, wait_job


@pytest.fixture(scope="module")
def finished(sdk: batch_client.BatchClient) -> str:
    command = 'echo "out of $BATCH_TASK_INSTANCE_INDEX"; echo "err of $BATCH_TASK_INSTANCE_INDEX" >&2'
    job_id: str = submit(sdk, task("A", command, TaskInstanceNum=2))
    wait_job(sdk, job_id)
    return job_id


def test_logs_prints_an_instances_stdout_as_written(srv: Server, home: Path, finished: str) -> None:
    assert ok(invoke("logs", finished, "A", home=home, srv=srv)) == "out of 0\n"
    assert ok(invoke("logs", finished, "A", "1", home=home, srv=srv)) == "out of 1\n"


def test_logs_stderr_prints_the_instances_stderr(srv: Server, home: Path, finished: str) -> None:
    assert ok(invoke("logs", finished, "A", "1", "--stderr", home=home, srv=srv)) == "err of 1\n"


def test_logs_json_names_the_instance_and_the_stream(srv: Server, home: Path, finished: str) -> None:
    printed = json.loads(ok(invoke("logs", finished, "A", "1", "--stderr", "-o", "json", home=home, srv=srv)))
    assert printed == {
        "JobId": finished,
        "TaskName": "A",
        "TaskInstanceIndex": 1,
        "Stream": "stderr",
        "Log": "err of 1\n",
    }


def test_logs_of_a_missing_instance_is_the_apis_error(srv: Server, home: Path, finished: str) -> None:
    line = one_red_line(invoke("logs", finished, "A", "5", home=home, srv=srv), 3)
    assert line.startswith("ResourceNotFound.TaskInstance: ")


def test_logs_follow_prints_what_is_added_while_the_instance_runs_and_ends_with_it(
    srv: Server, home: Path, sdk: batch_client.BatchClient, tmp_path: Path
) -> None:
    """The command writes a line, waits until the test has read it from ``logs --follow``, then writes
    more: each line is printed once, in order, and the command ends by itself when the instance does."""
    go = tmp_path / "go"
    command = f"echo line 1; while [ ! -e {go} ]; do sleep 0.05; done; echo line 2; echo line 3; echo bye >&2"
    job_id = submit(sdk, task("A", command))
    with following(job_id, home, srv) as process:
        assert process.stdout is not None
        assert process.stdout.readline() == "line 1\n"
        go.touch()
        assert process.wait(timeout=30) == 0
        assert process.stdout.read() == "line 2\nline 3\n"
    assert wait_job(sdk, job_id).JobState == "SUCCEED"
    assert ok(invoke("logs", job_id, "A", "--stderr", "--follow", home=home, srv=srv)) == "bye\n"


@contextmanager
def following(job_id: str, home: Path, srv: Server) -> Iterator[subprocess.Popen[str]]:
    """``batchyard logs JOB A --follow`` running as its own process, its stdout a pipe."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(SETUP_PREFIXES)}
    environ.update(HOME=str(home), **KEYS)
    argv = [str(BATCHYARD), "logs", job_id, "A", "--follow", "--endpoint", srv.url]
    process = subprocess.Popen(argv, env=environ, stdout=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        process.kill()
        process.wait()
        assert process.stdout is not None
        process.stdout.close()


def test_follow_prints_what_a_sliding_tail_adds() -> None:
    """The API returns the last bytes of a log: a tail that grew, or slid past its size, adds its end."""
    assert added(b"", b"a\n") == b"a\n"
    assert added(b"a\n", b"a\nb\n") == b"b\n"
    assert added(b"a\nb\n", b"a\nb\n") == b""
    assert added(b"0123456789", b"456789abcd") == b"abcd"
    assert added(b"tick\ntick\n", b"tick\ntick\n") == b""
    assert added(b"xxxxtick\n", b"xtick\ntock\n") == b"tock\n"
    assert added(b"old attempt\n", b"new\n") == b"new\n"


def test_logs_decode_data_uris_null_and_plain_text() -> None:
    assert decode("data:text/plain;charset=utf-8;base64,aGkK") == b"hi\n"
    assert decode(None) == b""
    assert decode("plain") == b"plain"
