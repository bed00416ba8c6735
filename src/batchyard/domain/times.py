"""Timestamps as the API shows them: ISO 8601 UTC to the second, ``None`` while not reached."""

from __future__ import annotations

import time
from functools import lru_cache


@lru_cache(maxsize=4096)  # instances dispatched or ended in one tick share their timestamps
def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def iso_or_none(epoch: float | None) -> str | None:
    return None if epoch is None else iso(epoch)
