"""The partition's nodes as the server last read them, kept beside its runs.

A server that starts while the controller does not answer (restarted together with it, or during a
controller's fail-over) takes these as its hosts, as a running server keeps the hosts it knows when a
read fails, and reads the partition again until the controller answers. Without them, a server that
had jobs running could not start at all until the cluster was back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from batchyard.domain.resources import Resources
from batchyard.executors.slurm.tools import SlurmNode
from batchyard.storage.local_files import replacing

log = logging.getLogger(__name__)

_MAX_COUNT = 2**31  # far beyond any node, and within what every part of the server counts in


def save(path: Path, nodes: Sequence[SlurmNode]) -> None:
    """Best effort: a server that cannot write them only loses this fallback, which the log says."""
    rows = [
        {
            "name": n.name,
            "address": n.address,
            "cpu": n.capacity.cpu,
            "memory_gib": n.capacity.memory_gib,
            "gpu": n.capacity.gpu,
        }
        for n in nodes
    ]
    try:
        with replacing(path) as partial:
            partial.write_text(json.dumps({"nodes": rows}))
    except OSError as exc:
        log.warning("the Slurm partition's nodes could not be kept in %s: %s", path, exc)


def load(path: Path) -> list[SlurmNode]:
    """The nodes kept, or none: never kept, or a file that cannot be read as written by ``save``
    (which the log says; the server then starts only once the controller answers)."""
    try:
        rows = json.loads(path.read_text())["nodes"]
        return [_node(row) for row in rows]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("the Slurm partition's nodes kept in %s cannot be read: %s", path, exc)
        return []


def _node(row: dict[str, object]) -> SlurmNode:
    name, address = row["name"], row["address"]
    if not isinstance(name, str) or not name or not isinstance(address, str):
        raise ValueError(f"a node without a name or an address: {row!r}")
    counts = [row[field] for field in ("cpu", "memory_gib", "gpu")]
    numbers = [c for c in counts if isinstance(c, int) and not isinstance(c, bool) and 0 <= c < _MAX_COUNT]
    if len(numbers) != len(counts):
        raise ValueError(f"a node whose CPUs, memory or GPUs are not counts: {row!r}")
    return SlurmNode(name, Resources(*numbers), address)
