"""Every period, ask the executor what the running attempts use and keep it in the store, for
DescribeJobMonitorData.

Looks fall on multiples of the period (wall clock), so a monitor answer's points are a period apart
and a missed look shows as a gap, not as a shifted series. A look that fails is logged and skipped:
monitoring never stops the scheduler, and the scheduler never waits for it (the sampler writes in
its own short transactions).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

from batchyard.domain.attempts import Usage
from batchyard.executors.base import Executor
from batchyard.store.database import Database
from batchyard.store.usage import insert_samples

log = logging.getLogger(__name__)


class UsageSampler:
    def __init__(self, db: Database, executor: Executor, period_s: int) -> None:
        self._db = db
        self._executor = executor
        self._period_s = period_s
        self._task: asyncio.Task[None] | None = None

    @property
    def period_s(self) -> int:
        return self._period_s

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usage-sampler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._period_s - time.time() % self._period_s)
            try:
                await self.sample()
            except Exception as exc:  # a look that fails is a gap in the series, nothing more
                log.warning("sampling the usage of running attempts failed: %s", exc)

    async def sample(self) -> None:
        usages = await self._executor.usage()
        if usages:
            await asyncio.to_thread(self._write, usages)

    def _write(self, usages: Sequence[Usage]) -> None:
        with self._db.write() as conn:
            insert_samples(conn, usages)
