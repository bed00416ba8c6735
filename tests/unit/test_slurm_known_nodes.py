"""The partition's nodes kept for a start while the controller does not answer: what was kept comes
back, and a kept file that is damaged is no nodes, never an exception that stops the start."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchyard.domain.resources import Resources
from batchyard.executors.slurm import known_nodes
from batchyard.executors.slurm.tools import SlurmNode


def test_the_nodes_kept_come_back(tmp_path: Path) -> None:
    nodes = [
        SlurmNode("node1", Resources(4, 8, 0), "127.0.0.1"),
        SlurmNode("gpu1", Resources(8, 64, 2), "10.0.0.7"),
    ]
    known_nodes.save(tmp_path / "nodes.json", nodes)
    assert known_nodes.load(tmp_path / "nodes.json") == nodes


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "[]",
        '{"nodes": 1}',
        '{"nodes": ["node1"]}',
        '{"nodes": [{"name": "node1"}]}',
        '{"nodes": [{"name": "", "address": "a", "cpu": 1, "memory_gib": 1, "gpu": 0}]}',
        '{"nodes": [{"name": "n", "address": null, "cpu": 1, "memory_gib": 1, "gpu": 0}]}',
        '{"nodes": [{"name": "n", "address": "a", "cpu": true, "memory_gib": 1, "gpu": 0}]}',
        '{"nodes": [{"name": "n", "address": "a", "cpu": -1, "memory_gib": 1, "gpu": 0}]}',
        '{"nodes": [{"name": "n", "address": "a", "cpu": 9223372036854775808, "memory_gib": 1, "gpu": 0}]}',
        '{"nodes": [{"name": "n", "address": "a", "cpu": 1.5, "memory_gib": 1, "gpu": 0}]}',
        b"\xff\xfe".decode("latin-1"),
    ],
)
def test_a_damaged_file_is_no_nodes(tmp_path: Path, text: str) -> None:
    (tmp_path / "nodes.json").write_text(text, encoding="latin-1")
    assert known_nodes.load(tmp_path / "nodes.json") == []


def test_no_file_is_no_nodes(tmp_path: Path) -> None:
    assert known_nodes.load(tmp_path / "nodes.json") == []
