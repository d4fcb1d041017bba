"""meta.total without counting a million rows on every request.

A count is exact for a given data version: the writer clock (store.writer) names the version, and
every change a client can see moves it. Totals are cached per (filters, clock), so repeated polls
between two ingest batches count once; the first request after a write counts again. Delta polls
(`since`) count a narrow index range and are cheap either way.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

MAX_ENTRIES = 4_096


class TotalCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[tuple[str, int], int] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def get_or_count(self, filters_key: str, clock: int, count_at: Callable[[], tuple[int, int]]) -> int:
        """The total for these filters at this clock; on a miss `count_at` returns (clock, count)
        from one snapshot, stored under the clock it was counted at."""
        key = (filters_key, clock)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        counted_clock, total = count_at()  # outside the lock: a duplicate count is harmless
        with self._lock:
            self._entries[(filters_key, counted_clock)] = total
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return total
