"""When each dispatch queue's waiting reasons were last said in full, and which queues are owed a walk.

Dispatch walks a queue up to the first task that finds no place; the tasks behind it cannot move, so
dispatch has no need to go further. Their reasons can change all the same (fewer instances ahead of
them on every tick while the queue drains), and saying them on every tick would cost one write per
waiting task per tick. So the tasks behind are explained at once when one of them is new, and else at
most every ``REFRESH_S``: a queue cut short is owed a walk, and the scheduler wakes for it when it is
due even if nothing else happens. Held in memory; after a restart every queue is walked in full once.
"""

from __future__ import annotations

import math

REFRESH_S = 1.0

Key = int | None  # a named environment's pk; None for the queue of anonymous tasks


class Refresh:
    def __init__(self) -> None:
        self._last: dict[Key, float] = {}  # when the queue was last walked in full
        self._owed: dict[Key, float] = {}  # when a queue cut short is due a full walk

    def in_full(self, key: Key, now: float, new_tasks: bool) -> bool:
        """Whether this walk of the queue explains every task in it, not only those up to the first
        that finds no place."""
        return new_tasks or now >= self._last.get(key, -math.inf) + REFRESH_S

    def walked(self, key: Key, now: float, in_full: bool) -> None:
        if in_full:
            self._last[key] = now
            self._owed.pop(key, None)
        elif key not in self._owed:
            self._owed[key] = self._last.get(key, now) + REFRESH_S

    def due(self, now: float) -> set[int]:
        """Named environments owed a full walk by now."""
        return {key for key, at in self._owed.items() if key is not None and at <= now}

    def forget(self, keys: set[int]) -> None:
        """Queues with nothing left waiting owe nothing."""
        for key in keys:
            self._owed.pop(key, None)

    def next_due(self) -> float | None:
        return min(self._owed.values(), default=None)
