"""Who is asking: every service call is scoped to one account in one region."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    account: str
    region: str


Wake = Callable[[], None]
