"""The tests here call the session's cluster (``slurm_cluster`` of tests/conftest.py) ``cluster``, and
``on_slurm`` is a server that puts its nodes on it whatever BATCHYARD_TEST_EXECUTOR says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Server, SlurmCluster, running


@pytest.fixture
def cluster(slurm_cluster: SlurmCluster) -> SlurmCluster:
    return slurm_cluster


@pytest.fixture
def on_slurm(tmp_path: Path, slurm_cluster: SlurmCluster) -> Iterator[Server]:
    yield from running(Server(tmp_path / "data", executor="slurm"))
