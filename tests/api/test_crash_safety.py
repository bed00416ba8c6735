"""Crashes and restarts of the server, and damaged rows in its store: nothing is lost, nothing runs twice.

Commands record their runs in files outside the data dir, which is what a user would check, and
processes are found by their command lines: a sandboxed command's pids are its PID namespace's.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.batch.v20170312.batch_client import BatchClient

from conftest import (
    Server,
    call,
    make_client,
    pids_running,
    running,
    submit,
    task,
    unique_sleep,
    wait_for,
    wait_job,
)

GRACE = "kill_grace_seconds = 1.0\n"


def _state(client: BatchClient, job_id: str) -> str:
    return str(call(client, "DescribeJob", {"JobId": job_id}).JobState)


def _instances(client: BatchClient, job_id: str, name: str) -> list[Any]:
    params = {"JobId": job_id, "TaskName": name, "Limit": 1000}
    return list(call(client, "DescribeTask", params).TaskInstanceSet)


@pytest.fixture
def four_nodes(tmp_path: Path) -> Iterator[Server]:
    yield from running(Server(tmp_path / "data", config=f"{GRACE}[local]\ncpus = 4\nmemory_gib = 16\n"))


def test_two_crashes_during_a_job_run_every_index_to_success_exactly_once(
    four_nodes: Server, tmp_path: Path
) -> None:
    short, long = tmp_path / "short.runs", tmp_path / "long.runs"
    client = make_client(four_nodes.endpoint)
    job_id = submit(
        client,
        task("short", f"echo $BATCH_TASK_INSTANCE_INDEX >> {short}; sleep 0.02", TaskInstanceNum=400),
        task("long", f"echo $BATCH_TASK_INSTANCE_INDEX >> {long}; sleep 2", TaskInstanceNum=3),
    )

    def runs_at_least(n: int) -> bool:
        return short.exists() and len(short.read_text().split()) >= n

    for runs_before_kill in (60, 220):
        wait_for(lambda: runs_at_least(runs_before_kill))  # noqa: B023 - called before the loop moves on
        four_nodes.stop(signal.SIGKILL)
        four_nodes.start()

    assert wait_job(client, job_id, timeout=120).JobState == "SUCCEED"
    assert Counter(short.read_text().split()) == Counter(str(i) for i in range(400)), "each ran once"
    assert Counter(long.read_text().split()) == Counter(str(i) for i in range(3)), "each ran once"
    views = _instances(client, job_id, "short") + _instances(client, job_id, "long")
    assert {(v.TaskInstanceState, v.ExitCode) for v in views} == {("SUCCEED", 0)}


def test_attempts_that_ended_while_the_server_was_down_are_all_recorded(
    four_nodes: Server, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    client = make_client(four_nodes.endpoint)
    job_id = submit(
        client,
        task("t", f"echo $BATCH_TASK_INSTANCE_INDEX >> {runs}; sleep 1; exit 0", TaskInstanceNum=4),
    )
    wait_for(lambda: call(client, "DescribeJob", {"JobId": job_id}).TaskInstanceMetrics.RunningCount == 4)

    four_nodes.stop(signal.SIGKILL)
    journal = next(four_nodes.data_dir.glob("runs/*/exits"))
    wait_for(lambda: len([ln for ln in journal.read_text().splitlines() if not ln.startswith("S")]) == 4)
    four_nodes.start()

    assert wait_job(client, job_id).JobState == "SUCCEED"
    assert sorted(runs.read_text().split()) == ["0", "1", "2", "3"], "none was run again"
    assert [v.ExitCode for v in _instances(client, job_id, "t")] == [0, 0, 0, 0]


@pytest.mark.parametrize(
    "command",
    [
        "exec sh -c 'echo run >> {runs}; sleep 2'",
        "trap 'echo bye' EXIT; echo run >> {runs}; sleep 2",
    ],
    ids=["exec", "own-exit-trap"],
)
def test_a_command_that_replaces_its_shell_or_traps_exit_is_not_run_again_after_a_crash(
    server: Server, tmp_path: Path, command: str
) -> None:
    runs = tmp_path / "runs"
    client = make_client(server.endpoint)
    job_id = submit(client, task("t", command.format(runs=runs)))
    wait_for(lambda: runs.exists())

    server.stop(signal.SIGKILL)
    server.start()

    assert wait_job(client, job_id).JobState == "SUCCEED"
    assert runs.read_text() == "run\n"


@pytest.mark.parametrize("ends", ["after-the-restart", "while-the-server-is-down"])
def test_background_children_of_an_attempt_die_with_it_across_a_crash(
    server: Server, tmp_path: Path, ends: str
) -> None:
    gate, child = tmp_path / "gate", unique_sleep(300)
    client = make_client(server.endpoint)
    command = f"{child} & while [ ! -e {gate} ]; do sleep 0.05; done"
    job_id = submit(client, task("t", command))
    wait_for(lambda: pids_running(child))

    server.stop(signal.SIGKILL)
    if ends == "while-the-server-is-down":
        gate.touch()
        journal = next(server.data_dir.glob("runs/*/exits"))
        wait_for(lambda: any(not line.startswith("S") for line in journal.read_text().splitlines()))
    server.start()
    gate.touch()

    assert wait_job(client, job_id).JobState == "SUCCEED"
    wait_for(lambda: not pids_running(child), timeout=5)


@pytest.fixture
def quick_kill(tmp_path: Path) -> Iterator[Server]:
    yield from running(Server(tmp_path / "data", config=GRACE))


def test_terminating_a_reattached_attempt_also_kills_children_that_ignore_sigterm(quick_kill: Server) -> None:
    child = unique_sleep(300)
    client = make_client(quick_kill.endpoint)
    stubborn = f"sh -c 'trap \"\" TERM; {child}' & sleep 300"
    job_id = submit(client, task("t", stubborn))
    wait_for(lambda: pids_running(child))

    quick_kill.stop(signal.SIGKILL)
    quick_kill.start()
    call(client, "TerminateJob", {"JobId": job_id})

    assert wait_job(client, job_id).JobState == "FAILED"
    wait_for(lambda: not pids_running(child), timeout=5)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_a_promised_sigkill_is_carried_out_whatever_becomes_of_the_server(
    quick_kill: Server, stop_signal: signal.Signals
) -> None:
    """A command ignoring SIGTERM is terminated; the server stops before the SIGKILL was due."""
    sleeper = unique_sleep(300)
    client = make_client(quick_kill.endpoint)
    job_id = submit(client, task("t", f"trap '' TERM; {sleeper}"))
    wait_for(lambda: pids_running(sleeper))
    call(client, "TerminateJob", {"JobId": job_id})

    quick_kill.stop(stop_signal)
    if stop_signal is signal.SIGTERM:
        assert not pids_running(sleeper), "a stopping server sends the SIGKILLs it promised"
    quick_kill.start()

    assert wait_job(client, job_id).JobState == "FAILED"
    wait_for(lambda: not pids_running(sleeper), timeout=5)
    view = _instances(client, job_id, "t")[0]
    assert view.TaskInstanceState == "FAILED"


def _damage_task(data_dir: Path, name: str, spec: object) -> None:
    """Write a task's stored spec behind the server's back, as an older version or a bad disk might."""
    db = sqlite3.connect(data_dir / "batchyard.db")
    with db:
        db.execute("UPDATE tasks SET spec = ? WHERE name = ?", (json.dumps(spec), name))
    db.close()


def _attempts_of(data_dir: Path, name: str) -> int:
    db = sqlite3.connect(data_dir / "batchyard.db")
    query = "SELECT count(*) FROM attempts JOIN tasks ON tasks.pk = attempts.task_pk WHERE tasks.name = ?"
    (count,) = db.execute(query, (name,)).fetchone()
    db.close()
    return int(count)


def test_rows_that_cannot_run_fail_their_own_instances_and_nothing_else(server: Server) -> None:
    """A NUL byte in a stored command, or a spec that is not one, must neither stop the start nor the
    scheduler: the instance fails at once, without retries, and other work goes on."""
    client = make_client(server.endpoint)
    job_id = submit(
        client,
        task("first", "sleep 1"),
        task("nul", "true", MaxRetryCount=2),
        task("garbled", "true"),
        Dependences=[
            {"StartTask": "first", "EndTask": "nul"},
            {"StartTask": "first", "EndTask": "garbled"},
        ],
        TaskExecutionDependOn="PRE_TASK_FINISHED",
    )
    server.stop()
    db = sqlite3.connect(server.data_dir / "batchyard.db")
    (stored,) = db.execute("SELECT spec FROM tasks WHERE name = 'nul'").fetchone()
    db.close()
    _damage_task(server.data_dir, "nul", {**json.loads(stored), "command": "echo a\u0000b"})
    _damage_task(server.data_dir, "garbled", {"command": 1})
    server.start()

    assert wait_job(client, job_id).JobState == "FAILED"
    nul = _instances(client, job_id, "nul")[0]
    assert nul.TaskInstanceState == "FAILED"
    assert "could not be started" in nul.StateReason
    assert _attempts_of(server.data_dir, "nul") == 1, "a failure no retry can fix is not retried"
    garbled = _instances(client, job_id, "garbled")[0]
    assert "cannot be read" in garbled.StateReason
    other = submit(client, task("after", "echo fine"))
    assert wait_job(client, other).JobState == "SUCCEED"
    server.stop()
    server.start()
    assert _state(client, other) == "SUCCEED", "a restart on this data dir works"
    assert os.path.exists(server.data_dir / "batchyard.db")
