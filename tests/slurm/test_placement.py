"""How a node's allocation is asked for: granted while the controller answers where the cluster has
room, queued as a batch job where it has none, and the node is not failed by the try that came first;
and an allocation of the server's that no node holds does not outlive the next look at the pilots.

The servers here put their nodes on the session's cluster whatever BATCHYARD_TEST_EXECUTOR says.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from batchyard.executors.slurm.executor import pilot_comment
from conftest import (
    Server,
    SlurmCluster,
    call,
    make_client,
    running,
    stdout_of,
    submit,
    task,
    wait_for,
    wait_job,
)
from slurm.helpers import on_whole_nodes


@pytest.fixture
def sorted_by_state(tmp_path: Path, slurm_cluster: SlurmCluster) -> Iterator[Server]:
    """A server whose user has squeue list jobs by state, pending ones before failed ones."""
    yield from running(Server(tmp_path / "data", executor="slurm", extra_env={"SQUEUE_SORT": "-t"}))


@pytest.fixture
def full(slurm_cluster: SlurmCluster) -> Iterator[list[str]]:
    """Both Slurm nodes held by allocations of someone else (job ids), cancelled after the test."""
    held: list[str] = []
    try:
        for _ in slurm_cluster.nodes:
            done = slurm_cluster.run(
                *("salloc", "--no-shell", "--job-name", "someone-else", "--nodes", "1"),
                *("--cpus-per-task", "4", "--mem", "8192M"),
            )
            held.append(_granted(done))
        yield held
    finally:
        slurm_cluster.run("scancel", *held)


def _pilots(cluster: SlurmCluster) -> list[tuple[str, str, str]]:
    """(job id, compute node id, state) of every job of a compute node the controller still lists."""
    out = cluster.run("squeue", "--noheader", "--states", "all", "--format", "%i %j %T").stdout
    return [
        (i, name, state)
        for i, name, state in (line.split() for line in out.splitlines())
        if name.startswith("node-")
    ]


def _granted(done: subprocess.CompletedProcess[str]) -> str:
    granted = re.search(r"Granted job allocation (\d+)", done.stderr)
    assert granted, done.stderr
    return granted.group(1)


def _state(cluster: SlurmCluster, job_id: str) -> str:
    return cluster.run("squeue", "--noheader", "--states", "all", "--jobs", job_id, "-o", "%T").stdout.strip()


def _batch_flag(cluster: SlurmCluster, job_id: str) -> str:
    shown = cluster.run("scontrol", "show", "job", job_id).stdout
    found = re.search(r"BatchFlag=(\d)", shown)
    assert found, shown
    return found.group(1)


def test_on_a_cluster_with_room_a_node_is_held_without_a_batch_script(
    on_slurm: Server, slurm_cluster: SlurmCluster, tmp_path: Path
) -> None:
    """The allocation is granted in the controller's answer to ``salloc --immediate --no-shell``,
    not queued for its next scheduling pass: no batch script holds it, and steps run in it."""
    gate = tmp_path / "gate"
    client = make_client(on_slurm.endpoint)
    job_id = submit(client, on_whole_nodes(f"while [ ! -e {gate} ]; do sleep 0.1; done"))
    held = wait_for(
        lambda: len(found := [p for p in _pilots(slurm_cluster) if p[2] == "RUNNING"]) == 2 and found,
        timeout=60,
    )
    assert [_batch_flag(slurm_cluster, job) for job, _, _ in held] == ["0", "0"]
    gate.touch()
    assert wait_job(client, job_id, timeout=60).JobState == "SUCCEED"


def test_on_a_full_cluster_a_node_waits_in_the_queue_until_room_is_made(
    sorted_by_state: Server, slurm_cluster: SlurmCluster, full: list[str]
) -> None:
    """The try to start at once fails (its record stays listed, FAILED, under the node's name), the
    pilot is queued as a batch job, and the node is CREATING, not failed, until someone else's
    allocation ends; then every instance runs. The record is told from the pilot whatever order
    squeue lists them in."""
    client = make_client(sorted_by_state.endpoint)
    before = {name for _, name, _ in _pilots(slurm_cluster)}  # ended ones stay listed for a while
    job_id = submit(client, on_whole_nodes("echo $BATCH_TASK_INSTANCE_INDEX"))

    pending = wait_for(
        lambda: len(found := [p for p in _pilots(slurm_cluster) if p[2] == "PENDING"]) == 2 and found,
        timeout=60,
    )
    tried = {name for _, name, state in _pilots(slurm_cluster) if state == "FAILED"} - before
    assert tried == {name for _, name, _ in pending}
    assert [_batch_flag(slurm_cluster, job) for job, _, _ in pending] == ["1", "1"]
    waiting = call(client, "DescribeTask", {"JobId": job_id, "TaskName": "t"}).TaskInstanceSet
    assert [i.TaskInstanceState for i in waiting] == ["STARTING", "STARTING"]  # on their nodes, CREATING

    slurm_cluster.run("scancel", full[0])
    assert wait_job(client, job_id, timeout=120).JobState == "SUCCEED"
    instances = call(client, "DescribeTask", {"JobId": job_id, "TaskName": "t"}).TaskInstanceSet
    assert [i.TaskInstanceState for i in instances] == ["SUCCEED", "SUCCEED"]
    assert [stdout_of(client, job_id, "t", index) for index in (0, 1)] == ["0\n", "1\n"]
    assert {name for _, name, _ in _pilots(slurm_cluster)} - before == tried  # no node was made again


def test_an_allocation_of_the_server_that_no_node_holds_is_cancelled(
    on_slurm: Server, slurm_cluster: SlurmCluster, tmp_path: Path
) -> None:
    """Such as one whose submission the controller took but never answered, after which its node
    failed: it would hold the cluster's resources until its time limit. The node's own is kept."""
    gate = tmp_path / "gate"
    client = make_client(on_slurm.endpoint)
    before = {name for _, name, _ in _pilots(slurm_cluster)}

    def new_ones() -> list[str]:
        return [state for _, name, state in _pilots(slurm_cluster) if name not in before]

    job_id = submit(client, task("t", f"while [ ! -e {gate} ]; do sleep 0.1; done"))
    wait_for(lambda: new_ones() == ["RUNNING"], timeout=60)
    comment = pilot_comment((on_slurm.data_dir / "runs").resolve())
    stray = _granted(
        slurm_cluster.run(
            *("salloc", "--no-shell", "--job-name", "node-stray", "--comment", comment, "--nodes", "1"),
            *("--cpus-per-task", "1", "--mem", "512M"),
        )
    )

    wait_for(lambda: _state(slurm_cluster, stray) == "CANCELLED", timeout=30)
    assert sorted(new_ones()) == ["CANCELLED", "RUNNING"]
    gate.touch()
    assert wait_job(client, job_id, timeout=60).JobState == "SUCCEED"
