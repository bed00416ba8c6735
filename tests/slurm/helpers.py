"""What the tests of a server on the Slurm cluster share."""

from __future__ import annotations

from typing import Any

from conftest import task

# S5.LARGE8 (4 CPU, 8 GiB) fills a node of the test cluster.
WHOLE_NODE = "S5.LARGE8"


def on_whole_nodes(command: str, **extra: Any) -> dict[str, Any]:
    """Task "t": two instances of ``command``, each filling a node of the test cluster."""
    env = {"EnvType": "MANAGED", "EnvData": {"InstanceType": WHOLE_NODE}}
    return task("t", command, TaskInstanceNum=2, ComputeEnv=env, **extra)
