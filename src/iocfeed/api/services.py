"""What the handlers share: engines, the keyring, tiers, the rate limiter and the usage recorder."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Request
from sqlalchemy import Engine

from iocfeed.api.limits import RateLimiter
from iocfeed.api.usage import UsageRecorder
from iocfeed.config import Settings, TierTable
from iocfeed.keyring import Keyring


@dataclass(slots=True)
class Services:
    settings: Settings
    engine: Engine  # writes (keys, usage) and, without a replica, reads
    read_engine: Engine  # the feed's queries
    keyring: Keyring
    tiers: TierTable
    limiter: RateLimiter
    usage: UsageRecorder


def services(request: Request) -> Services:
    return request.app.state.services
