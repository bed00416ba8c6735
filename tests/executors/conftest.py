"""The ``harness`` fixture: a started executor of each implementation, on an event loop of its own.

The project has no pytest-asyncio, so ``async def`` tests here run on the loop the fixture started the
executor on (an ``asyncio.Runner``, the reusable form of ``asyncio.run``).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import BACKENDS, NEEDS, Harness, started


@pytest.fixture(params=sorted(BACKENDS))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    if request.param in NEEDS:
        request.getfixturevalue(NEEDS[request.param])
    with started(BACKENDS[request.param](tmp_path)) as harness:
        yield harness


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run an ``async def`` test on its harness's loop."""
    test = pyfuncitem.obj
    if not inspect.iscoroutinefunction(test):
        return None
    harness = pyfuncitem.funcargs.get("harness")
    if not isinstance(harness, Harness):
        raise TypeError(f"{pyfuncitem.nodeid} is async: it needs the harness fixture, whose loop it runs on")
    args = {name: pyfuncitem.funcargs[name] for name in inspect.signature(test).parameters}
    harness.runner.run(test(**args))
    return True
