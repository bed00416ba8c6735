"""On a Slurm cluster, a lost node or a restarted server costs no instance and runs none twice.

The servers here put their nodes on the session's cluster whatever BATCHYARD_TEST_EXECUTOR says.
"""

from __future__ import annotations

from pathlib import Path

from conftest import (
    Server,
    SlurmCluster,
    call,
    make_client,
    submit,
    task,
    wait_for,
    wait_job,
)
from slurm.helpers import attempts, on_whole_nodes


def _pilot_nodes(cluster: SlurmCluster) -> dict[str, str]:
    """Slurm node of each running pilot, by pilot (compute node) name."""
    out = cluster.run("squeue", "--noheader", "--states", "RUNNING", "--format", "%j %N").stdout
    return dict(line.split() for line in out.splitlines() if line.startswith("node-"))


def test_a_job_survives_the_loss_of_a_slurm_node(
    on_slurm: Server, slurm_cluster: SlurmCluster, tmp_path: Path
) -> None:
    """The lost node's attempt is a SYSTEM fault: retried on the node that is left although the task
    allows no retry (a failure of the command would have failed the job), and each instance succeeds
    once."""
    gate = tmp_path / "gate"
    client = make_client(on_slurm.endpoint)
    command = f"while [ ! -e {gate} ]; do sleep 0.1; done; echo done $BATCH_TASK_INSTANCE_INDEX"
    job_id = submit(client, on_whole_nodes(command, MaxRetryCount=0))
    pilots = wait_for(lambda: len(found := _pilot_nodes(slurm_cluster)) == 2 and found, timeout=60)
    wait_for(lambda: len(attempts(on_slurm)) == 2, timeout=30)
    lost = sorted(set(pilots.values()))[0]

    slurm_cluster.kill_node(lost)
    try:
        # Its retry waits for a node: the other one is busy until the gate opens.
        wait_for(lambda: any(state == "FAILED" for _, state, _ in attempts(on_slurm)), 90, interval=0.5)
        gate.touch()
        assert wait_job(client, job_id, timeout=120).JobState == "SUCCEED"
    finally:
        slurm_cluster.start_node(lost)

    # Until its controller notices the loss, Slurm may give the retry a new allocation on the lost
    # host; that attempt is lost with it and retried once more, as a SYSTEM fault again.
    recorded = attempts(on_slurm)
    failed = [a for a in recorded if a[1] != "SUCCEED"]
    assert failed and "allocation ended" in failed[0][2], recorded
    assert len({idx for idx, _, _ in failed}) == 1, recorded
    assert all(state == "FAILED" and "compute node" in reason for _, state, reason in failed), recorded
    assert sorted(idx for idx, state, _ in recorded if state == "SUCCEED") == [0, 1]


def test_a_server_restarted_mid_job_runs_every_instance_exactly_once(
    on_slurm: Server, tmp_path: Path
) -> None:
    """Killed with SIGKILL while steps run and others wait; the new server takes the pilots and
    steps back, and each instance's command appends its index once."""
    seen = tmp_path / "seen"
    client = make_client(on_slurm.endpoint)
    command = f"sleep 1; echo $BATCH_TASK_INSTANCE_INDEX >> {seen}"
    job_id = submit(client, task("t", command, TaskInstanceNum=12, MaxRetryCount=0))
    wait_for(lambda: seen.exists() and seen.read_text().count("\n") >= 2, timeout=60)

    on_slurm.stop(sig=9)
    on_slurm.start()

    assert wait_job(client, job_id, timeout=120).JobState == "SUCCEED"
    assert sorted(int(line) for line in seen.read_text().split()) == list(range(12))
    states = call(client, "DescribeTask", {"JobId": job_id, "TaskName": "t", "Limit": 100})
    assert {i.TaskInstanceState for i in states.TaskInstanceSet} == {"SUCCEED"}
