"""The feed-statistics cache: computed at most once per STATS_TTL_SECONDS per process; a stale copy
is served at once while a background thread computes the next (see api/stats.py)."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from iocfeed.store.stats import FeedStats, compute_stats
from iocfeed.timeutil import now_us

if TYPE_CHECKING:
    from iocfeed.api.services import Services

log = logging.getLogger(__name__)

STATS_TTL_SECONDS = 60.0


class StatsCache:
    def __init__(self, ttl: float = STATS_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._value: tuple[float, int, FeedStats] | None = None  # (monotonic, generated µs, stats)
        self._lock = threading.Lock()
        self._refreshing = False

    def get(self, svc: Services) -> tuple[FeedStats, int, str, float]:
        """(stats, generated_at µs, cache status, age in seconds)."""
        current = self._value
        if current is None:
            with self._lock:  # one computation for the whole herd of first requests
                if self._value is None:
                    self._value = self._compute(svc)
                    return self._value[2], self._value[1], "miss", 0.0
                current = self._value
        age = time.monotonic() - current[0]
        if age < self.ttl:
            return current[2], current[1], "hit", age
        self._refresh_in_background(svc)
        return current[2], current[1], "stale", age

    def _compute(self, svc: Services) -> tuple[float, int, FeedStats]:
        now = now_us()
        with svc.read_engine.connect() as connection:
            stats = compute_stats(connection, now)
        return time.monotonic(), now, stats

    def _refresh_in_background(self, svc: Services) -> None:
        with self._lock:
            if self._refreshing:
                return
            self._refreshing = True

        def refresh() -> None:
            try:
                self._value = self._compute(svc)
            except Exception:
                log.exception("refreshing feed statistics failed; serving the previous ones")
            finally:
                self._refreshing = False

        threading.Thread(target=refresh, name="iocfeed-stats", daemon=True).start()
