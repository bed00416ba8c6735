"""A Slurm executor restarted while the controller does not answer takes its nodes back as the server's
store last knew them (the pilot's job id is in each node's handle), and checks them once it answers."""

from __future__ import annotations

import os
import signal

import pytest

from batchyard.domain.attempts import Failure
from batchyard.executors.base import AttachedNode, AttemptFinished, NodeFailed, NodeLost
from conftest import SlurmCluster

from .harness import Harness


@pytest.mark.parametrize("harness", ["slurm"], indirect=True)
async def test_a_node_taken_back_while_the_controller_is_away_runs_attempts(
    harness: Harness, slurm_cluster: SlurmCluster
) -> None:
    ready = await harness.ready_node()
    await harness.restart()
    controller = int((slurm_cluster.dir / "run" / "slurmctld.pid").read_text())
    os.kill(controller, signal.SIGSTOP)
    try:
        harness.executor.reattach([AttachedNode(ready.handle, harness.node())], [])
    finally:
        os.kill(controller, signal.SIGCONT)

    harness.launch(1, "true")
    finished = await harness.wait(AttemptFinished, 1)

    assert (finished.exit_code, finished.failure) == (0, Failure.NONE), finished.reason
    assert not harness.all(NodeLost, "n1") and not harness.all(NodeFailed, "n1")
