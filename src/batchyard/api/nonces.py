"""Single-use v1 Nonces: what stops a captured v1 request from being sent again while its time is valid.

A v1 signature covers its ``Nonce``, so a replay must repeat the pair (SecretId, Nonce) exactly. The
ledger remembers each pair until the request's timestamp leaves the clock-skew window, after which the
clock check refuses the replay anyway; memory therefore follows the request rate, with a hard cap.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from batchyard.domain.errors import ApiError

DEFAULT_CAPACITY = 100_000
"""About 35 MB of pairs (measured): 300 v1 requests/s sustained for five minutes."""

NonceKey = tuple[str, str]
"""(SecretId, Nonce): Nonces are per key pair, so one client's choice never blocks another's."""


class NonceLedger:
    """The pairs of verified v1 requests, each kept until the moment a replay would expire on its own."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._expiries: OrderedDict[NonceKey, float] = OrderedDict()
        # Requests are verified on the event loop today; the lock keeps a threaded caller just as safe.
        self._lock = threading.Lock()

    def claim(self, key: NonceKey, expires: float, now: float) -> None:
        """Record ``key`` as used until ``expires``, or refuse it if it is still recorded.

        Call only once the signature has verified, so that nobody without the SecretKey can use up
        another client's Nonces or fill the ledger.
        """
        with self._lock:
            self._forget_expired(now)
            self._check_unused(key, now)
            if len(self._expiries) >= self._capacity:
                raise ApiError(
                    "RequestLimitExceeded",
                    "Too many recent v1-signed requests to remember their Nonces; "
                    "retry later or sign with TC3-HMAC-SHA256.",
                )
            self._expiries[key] = expires

    def _check_unused(self, key: NonceKey, now: float) -> None:
        """A reuse is SignatureExpire: API 2.0 answered it with its expired-timestamp code (4500) and
        API 3.0 has none of its own. An expired pair may outlive the sweep; its Nonce is free again."""
        expires = self._expiries.get(key)
        if expires is None:
            return
        if expires >= now:
            secret_id, nonce = key
            raise ApiError(
                "AuthFailure.SignatureExpire",
                f"The Nonce {nonce} was already used with SecretId {secret_id} in a request whose "
                "timestamp is still valid; sign every request with a new Nonce.",
            )
        del self._expiries[key]

    def _forget_expired(self, now: float) -> None:
        """Sweep from the oldest insertion, stopping at the first live pair: O(1) amortised per claim.

        Expiry is not in insertion order (timestamps may lead or lag the clock by a window), so a pair
        can outlive its expiry behind an older one that expires later; none stays more than two
        windows after it was recorded.
        """
        while self._expiries:
            key, expires = next(iter(self._expiries.items()))
            if expires >= now:
                return
            del self._expiries[key]
