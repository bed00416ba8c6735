"""What the tests of a server on the Slurm cluster share."""

from __future__ import annotations

import sqlite3
from typing import Any

from conftest import Server, task

# S5.LARGE8 (4 CPU, 8 GiB) fills a node of the test cluster.
WHOLE_NODE = "S5.LARGE8"


def on_whole_nodes(command: str, **extra: Any) -> dict[str, Any]:
    """Task "t": two instances of ``command``, each filling a node of the test cluster."""
    env = {"EnvType": "MANAGED", "EnvData": {"InstanceType": WHOLE_NODE}}
    return task("t", command, TaskInstanceNum=2, ComputeEnv=env, **extra)


def attempts(server: Server) -> list[tuple[int, str, str]]:
    """(instance index, state, reason) of every attempt the store recorded, in order."""
    with sqlite3.connect(f"file:{server.data_dir / 'batchyard.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT idx, state, reason FROM attempts ORDER BY pk").fetchall()
    return [(int(idx), str(state), str(reason or "")) for idx, state, reason in rows]
