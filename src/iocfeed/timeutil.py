"""Instants as integer microseconds since the Unix epoch (UTC), and their RFC 3339 text form."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

MICROS_PER_SECOND = 1_000_000
MICROS_PER_DAY = 86_400 * MICROS_PER_SECOND
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_us() -> int:
    return time.time_ns() // 1_000


def to_us(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * MICROS_PER_SECOND + delta.microseconds


def from_us(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def format_us(micros: int | None) -> str | None:
    """RFC 3339 UTC with a Z; microseconds only when the instant has them."""
    if micros is None:
        return None
    moment = from_us(micros)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(text: str) -> int:
    """Parse an ISO 8601 / RFC 3339 instant (or a bare date) to microseconds; naive means UTC.

    Raises ValueError with a readable message on anything else.
    """
    value = text.strip()
    if not value:
        raise ValueError("empty timestamp")
    if value.endswith(("z", "Z")):
        value = value[:-1] + "+00:00"
    try:
        return to_us(datetime.fromisoformat(value))
    except (ValueError, OverflowError):
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}") from None


def day_string(micros: int) -> str:
    return from_us(micros).strftime("%Y-%m-%d")
