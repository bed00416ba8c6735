"""One server for all the CLI's tests: starting one takes seconds, and these tests do not disturb each
other (each makes its own jobs, names and tags)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Server, running


@pytest.fixture(scope="session")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from running(Server(tmp_path_factory.mktemp("cli") / "data"))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A HOME with no ~/.tccli, so nothing but what a test gives reaches the CLI."""
    return tmp_path_factory.mktemp("home")
