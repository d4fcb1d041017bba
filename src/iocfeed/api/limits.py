"""Per-key request limits per minute and per day, in process or shared through Redis.

Rolling windows are approximated with the `limits` package's sliding-window counter (two counters
per window, weighted), which costs O(1) memory per key even at a million requests a day. With
IOCFEED_REDIS_URL set, every API process of a deployment draws from one budget per key.

If Redis cannot be reached, requests are served without limits and the error is logged: a feed
that SOC tooling depends on should not go dark because its rate-limit store did.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerDay, RateLimitItemPerMinute
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from iocfeed.config import Tier
from iocfeed.errors import RateLimited

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RateState:
    """What the X-RateLimit-* headers say: the per-minute window."""

    limit: int
    remaining: int
    reset: int  # Unix seconds


class RateLimiter:
    def __init__(self, redis_url: str | None = None, prefix: str = "iocfeed") -> None:
        if redis_url:
            self._storage = RedisStorage(redis_url, key_prefix=f"{prefix}:limits")
        else:
            self._storage = MemoryStorage()
        self._limiter = SlidingWindowCounterRateLimiter(self._storage)
        self.shared = bool(redis_url)

    def check(self, key_id: str, tier: Tier) -> RateState | None:
        """Count one request for `key_id`; RateLimited when over a limit. None: tier is unlimited."""
        if tier.requests_per_minute is None and tier.requests_per_day is None:
            return None
        try:
            return self._check(key_id, tier)
        except RateLimited:
            raise
        except Exception as exc:  # the limit store is down: serve, and say so in the log
            log.error("rate limit store unavailable, serving without limits: %s", type(exc).__name__)
            return None

    def _check(self, key_id: str, tier: Tier) -> RateState | None:
        minute = RateLimitItemPerMinute(tier.requests_per_minute) if tier.requests_per_minute else None
        day = RateLimitItemPerDay(tier.requests_per_day) if tier.requests_per_day else None
        if minute is not None and not self._limiter.hit(minute, key_id):
            raise RateLimited("minute", minute.amount, self._retry_after(minute, key_id))
        if day is not None and not self._limiter.hit(day, key_id):
            raise RateLimited("day", day.amount, self._retry_after(day, key_id))
        if minute is None:
            return None
        stats = self._limiter.get_window_stats(minute, key_id)
        return RateState(minute.amount, stats.remaining, math.ceil(stats.reset_time))

    def state(self, key_id: str, tier: Tier) -> RateState | None:
        """The per-minute window without counting a request (for headers on a 429)."""
        if not tier.requests_per_minute:
            return None
        minute = RateLimitItemPerMinute(tier.requests_per_minute)
        try:
            stats = self._limiter.get_window_stats(minute, key_id)
        except Exception:
            return None
        return RateState(minute.amount, stats.remaining, math.ceil(stats.reset_time))

    def _retry_after(self, item: RateLimitItemPerMinute | RateLimitItemPerDay, key_id: str) -> int:
        stats = self._limiter.get_window_stats(item, key_id)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def reset(self) -> None:
        self._storage.reset()
