"""The controller away (restarting, failing over): stopped here with SIGSTOP, so that it takes
connections and answers none, as a controller that hangs does. Slurm's tools then fail after
``MessageTimeout`` (3 s on the test cluster), and the server goes on once the controller answers."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from batchyard.executors.slurm.executor import pilot_comment
from batchyard.executors.slurm.tools import ENDED
from conftest import ZONE, Server, SlurmCluster, call, make_client, running, submit, task, wait_for, wait_job
from slurm.helpers import attempts


@contextmanager
def controller_away(cluster: SlurmCluster) -> Iterator[None]:
    """slurmctld stopped until the block ends."""
    controller = int((cluster.dir / "run" / "slurmctld.pid").read_text())
    os.kill(controller, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(controller, signal.SIGCONT)


def _live_allocations(cluster: SlurmCluster, server: Server) -> list[str]:
    """The job ids of the server's allocations that have not ended."""
    comment = pilot_comment((server.data_dir / "runs").resolve())
    out = cluster.run("squeue", "--noheader", "--states", "all", "--format", "%i|%T|%k").stdout
    rows = (line.split("|", 2) for line in out.splitlines())
    return [job_id for job_id, state, of in rows if of == comment and state not in ENDED]


def test_a_server_started_while_the_controller_does_not_answer_runs_jobs_once_it_does(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    """A server restarted together with its cluster starts with the partition it read before, and runs
    jobs once the controller answers; one that never read the partition cannot start, and says why."""
    server = Server(tmp_path / "data", executor="slurm")
    with controller_away(slurm_cluster), pytest.raises(RuntimeError, match="server exited"):
        server.start()
    said = server.log_file.read_text(errors="replace")
    assert "no earlier start of this server read its partition" in said, said

    with contextmanager(running)(server):  # a start that reads the partition
        pass
    with contextlib.ExitStack() as stack:
        with controller_away(slurm_cluster):
            stack.enter_context(contextmanager(running)(server))
            client = make_client(server.endpoint)
            job_id = submit(client, task("t", "echo ran", TaskInstanceNum=2))
        assert wait_job(client, job_id, timeout=90).JobState == "SUCCEED"
    said = server.log_file.read_text(errors="replace")
    assert "Slurm did not list the partition's nodes at start-up; taking the 2 it had" in said, said


def test_a_node_asked_for_while_the_controller_does_not_answer_is_made_once_it_does(
    on_slurm: Server, slurm_cluster: SlurmCluster
) -> None:
    """The node is not failed (nor is its instance's attempt lost) for want of an answer: once the
    controller answers, the server asks again. The controller also reads the unanswered requests late
    (an ``salloc`` and four ``sbatch``), and what it makes of them is cancelled: none of the server's
    allocations is left once the job is done."""
    client = make_client(on_slurm.endpoint)
    with controller_away(slurm_cluster):
        job_id = submit(client, task("t", "echo ran"))
        wait_for(lambda: "Slurm did not answer for node" in on_slurm.log_file.read_text(errors="replace"), 90)
    job = wait_job(client, job_id, timeout=90)
    assert job.JobState == "SUCCEED", job
    assert attempts(on_slurm) == [(0, "SUCCEED", "")]  # no attempt lost with a node never made
    wait_for(lambda: not _live_allocations(slurm_cluster, on_slurm), timeout=60)


def test_an_attempt_launched_while_the_controller_does_not_answer_runs_once_it_does(
    on_slurm: Server, slurm_cluster: SlurmCluster
) -> None:
    """``srun`` asks the controller to make the step, so an attempt launched meanwhile never began: it
    is launched again on its node, which is kept, rather than lost with a node given up. (The node is
    an idle node of a named environment: a step that ended while the controller was away would hold
    its allocation's end a minute, as its step daemon reports the end again only then.)"""
    client = make_client(on_slurm.endpoint)
    spec = {"EnvName": "pool", "DesiredComputeNodeCount": 1, "EnvData": {"InstanceType": "S2.SMALL1"}}
    env_id = call(client, "CreateComputeEnv", {"ComputeEnv": spec, "Placement": {"Zone": ZONE}}).EnvId

    def idle_nodes() -> list[str]:
        nodes = call(client, "DescribeComputeEnv", {"EnvId": env_id}).ComputeNodeSet
        return [n.ComputeNodeId for n in nodes if n.ComputeNodeState == "CREATED"]

    node = wait_for(idle_nodes, timeout=60)
    srun_logs = on_slurm.data_dir / "runs" / "nodes"
    work = {"TaskName": "t", "Application": {"DeliveryForm": "LOCAL", "Command": "echo ran"}, "EnvId": env_id}
    with controller_away(slurm_cluster):
        job_id = submit(client, work)
        wait_for(lambda: any("Socket timed out" in f.read_text() for f in srun_logs.glob("*.srun")), 60)
    assert wait_job(client, job_id, timeout=90).JobState == "SUCCEED"
    assert attempts(on_slurm) == [(0, "SUCCEED", "")]
    said = on_slurm.log_file.read_text(errors="replace")
    assert "Slurm did not answer its srun; launched again" in said, said
    assert wait_for(idle_nodes, timeout=30) == node  # the same node, idle again
