"""The tests here call the session's cluster (``slurm_cluster`` of tests/conftest.py) ``cluster``."""

from __future__ import annotations

import pytest

from conftest import SlurmCluster


@pytest.fixture
def cluster(slurm_cluster: SlurmCluster) -> SlurmCluster:
    return slurm_cluster
