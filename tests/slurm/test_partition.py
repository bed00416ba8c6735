"""The server follows its Slurm partition while it runs: a node taken out of it is no longer a host,
and one put back is a host again, without a restart.

The test changes the session cluster's partition and puts it back, whatever happens.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tencentcloud.batch.v20170312 import batch_client

from conftest import Server, SlurmCluster, call, make_client, running, submit, wait_for, wait_job
from slurm.helpers import on_whole_nodes

PARTITION = "batch"


@pytest.fixture
def server(tmp_path: Path, slurm_cluster: SlurmCluster) -> Iterator[Server]:
    yield from running(Server(tmp_path / "data", executor="slurm", config="[slurm]\nhosts_poll_s = 0.2\n"))


@pytest.fixture
def partition(slurm_cluster: SlurmCluster) -> Iterator[SlurmCluster]:
    """The cluster, its partition put back to all its nodes after the test."""
    try:
        yield slurm_cluster
    finally:
        _set_partition_nodes(slurm_cluster, "ALL")
        wait_for(lambda: len(_partition_nodes(slurm_cluster)) == 2, timeout=30)


def _set_partition_nodes(cluster: SlurmCluster, nodes: str) -> None:
    done = cluster.run("scontrol", "update", f"PartitionName={PARTITION}", f"Nodes={nodes}")
    assert done.returncode == 0, done.stderr


def _partition_nodes(cluster: SlurmCluster) -> list[str]:
    listed = cluster.run("sinfo", "--noheader", "--Node", "--partition", PARTITION, "--format", "%N")
    return listed.stdout.split()


def _instances(client: batch_client.BatchClient, job_id: str) -> list[tuple[str, str]]:
    """(state, reason) of each instance of task "t"."""
    found = call(client, "DescribeTask", {"JobId": job_id, "TaskName": "t"}).TaskInstanceSet
    return [(i.TaskInstanceState, i.StateReason or "") for i in found]


def test_nodes_leaving_and_joining_the_partition_are_followed(
    server: Server, partition: SlurmCluster, tmp_path: Path
) -> None:
    """With one node left, the second of two whole-node instances waits for room on a host (not for a
    pilot that Slurm cannot start); with the node back, both run at once."""
    gate = tmp_path / "gate"
    client = make_client(server.endpoint)
    _set_partition_nodes(partition, "node1")
    wait_for(lambda: "hosts changed: node1 (" in server.log_file.read_text(errors="replace"), timeout=30)

    command = f"while [ ! -e {gate} ]; do sleep 0.1; done"
    job_id = submit(client, on_whole_nodes(command))

    def waiting_reason() -> str:
        """While one instance runs, the other's StateReason."""
        found = sorted(_instances(client, job_id))  # RUNNABLE sorts before RUNNING
        return found[0][1] if [state for state, _ in found] == ["RUNNABLE", "RUNNING"] else ""

    reason = wait_for(lambda: "waiting for room on a host" in (said := waiting_reason()) and said, 60)
    assert "the most free on one host is 0 CPU" in reason, reason

    _set_partition_nodes(partition, "ALL")
    wait_for(lambda: [s for s, _ in _instances(client, job_id)] == ["RUNNING", "RUNNING"], timeout=60)
    gate.touch()
    assert wait_job(client, job_id, timeout=60).JobState == "SUCCEED"


def test_a_partition_without_nodes_is_refused_at_start(tmp_path: Path, slurm_cluster: SlurmCluster) -> None:
    server = Server(tmp_path / "data", executor="slurm", config='[slurm]\npartition = "nosuch"\n')
    with pytest.raises(RuntimeError, match="server exited"):
        server.start()
    said = server.log_file.read_text(errors="replace")
    assert "the Slurm cluster cannot be used: its partition nosuch has no nodes" in said, said
