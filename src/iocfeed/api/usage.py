"""Per-key request counters, kept in memory and written to the `usage` table every few seconds.

Writing a row per request would put a write (and, on SQLite, the database write lock) on every
request's path; counting in memory and flushing in the background costs one small transaction per
interval. A crash loses at most one interval of analytics, never anything of the feed.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict

from sqlalchemy import Engine

from iocfeed.store.accounts import UsageDelta, record_usage
from iocfeed.store.schema import LATENCY_BOUNDS_MS
from iocfeed.timeutil import day_string, now_us

log = logging.getLogger(__name__)

FLUSH_INTERVAL_SECONDS = 10.0


def _zeroes() -> list[int]:
    # requests, ok, client errors, rate limited, server errors, latency total, then the histogram
    return [0] * (6 + len(LATENCY_BOUNDS_MS) + 1)


def _bucket(latency_ms: int) -> int:
    for index, bound in enumerate(LATENCY_BOUNDS_MS):
        if latency_ms <= bound:
            return index
    return len(LATENCY_BOUNDS_MS)


class UsageRecorder:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, str], list[int]] = defaultdict(_zeroes)
        self._last_used: dict[str, int] = {}

    def record(self, key_id: str, status: int, latency_ms: int) -> None:
        now = now_us()
        with self._lock:
            counters = self._counters[(key_id, day_string(now))]
            counters[0] += 1
            if status < 400:
                counters[1] += 1
            elif status == 429:
                counters[3] += 1
            elif status < 500:
                counters[2] += 1
            else:
                counters[4] += 1
            counters[5] += latency_ms
            counters[6 + _bucket(latency_ms)] += 1
            self._last_used[key_id] = now

    def flush(self) -> None:
        with self._lock:
            counters, self._counters = self._counters, defaultdict(_zeroes)
            last_used, self._last_used = self._last_used, {}
        deltas = [
            UsageDelta(key, day, *values[:6], tuple(values[6:])) for (key, day), values in counters.items()
        ]
        try:
            record_usage(self._engine, deltas, last_used)
        except Exception as exc:
            log.error("could not write usage counters: %s", exc)
