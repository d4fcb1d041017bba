"""What the handlers share: engines, the keyring, tiers, the rate limiter and the usage recorder."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Request
from sqlalchemy import Engine

from iocfeed.api.key_cache import KeyCache
from iocfeed.api.limits import RateLimiter
from iocfeed.api.stats_cache import StatsCache
from iocfeed.api.totals import TotalCache
from iocfeed.api.usage import UsageRecorder
from iocfeed.config import Settings, TierTable
from iocfeed.keyring import Keyring
from iocfeed.store.feed_reads import FeedReader


@dataclass(slots=True)
class Services:
    settings: Settings
    engine: Engine  # writes (keys, usage) and, without a replica, reads
    read_engine: Engine  # the feed's queries
    keyring: Keyring
    tiers: TierTable
    limiter: RateLimiter
    usage: UsageRecorder
    totals: TotalCache
    feed: FeedReader
    key_cache: KeyCache
    stats: StatsCache


def services(request: Request) -> Services:
    return request.app.state.services
