"""Per-account, per-region, per-action request rates: a token bucket each, refilled continuously.

A bucket holds one second of requests, so a client may burst up to the action's rate and then
keeps that pace; over it the request gets ``RequestLimitExceeded``, which the official SDK's
retryer knows to back off from.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from batchyard.domain.errors import ApiError


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    def __init__(self, per_second: Mapping[str, float], clock: Callable[[], float] = time.monotonic) -> None:
        self._rates = dict(per_second)
        self._clock = clock
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}

    def acquire(self, account: str, region: str, action: str) -> None:
        rate = self._rates.get(action)
        if rate is None:
            return
        now = self._clock()
        bucket = self._buckets.setdefault((account, region, action), _Bucket(rate, now))
        bucket.tokens = min(rate, bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens < 1:
            raise ApiError(
                "RequestLimitExceeded", f"{action} is limited to {rate:g} requests per second; slow down."
            )
        bucket.tokens -= 1
