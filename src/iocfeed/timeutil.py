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


_DAY_PREFIXES: dict[int, str] = {}
FORMATTED_INSTANTS: dict[int, str] = {}  # format_us memo; read directly by the page serializer
_FORMATTED_MAX = 200_000


def format_us(micros: int | None) -> str | None:
    """RFC 3339 UTC with a Z; microseconds only when the instant has them.

    Called three times per record of every page (10,000-row pages included). Instants repeat a
    lot (every row of a write batch shares its updated_at), so results are memoized; the date part
    is cached per day and the time formatted by arithmetic instead of strftime."""
    if micros is None:
        return None
    text = FORMATTED_INSTANTS.get(micros)
    if text is None:
        if len(FORMATTED_INSTANTS) >= _FORMATTED_MAX:
            FORMATTED_INSTANTS.clear()
        text = FORMATTED_INSTANTS[micros] = _format(micros)
    return text


def _format(micros: int) -> str:
    days, rest = divmod(micros, MICROS_PER_DAY)
    prefix = _DAY_PREFIXES.get(days)
    if prefix is None:
        prefix = (_EPOCH + timedelta(days=days)).strftime("%Y-%m-%dT")
        if len(_DAY_PREFIXES) < 100_000:
            _DAY_PREFIXES[days] = prefix
    seconds, fraction = divmod(rest, MICROS_PER_SECOND)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    if fraction:
        return f"{prefix}{hours:02d}:{minutes:02d}:{seconds:02d}.{fraction:06d}Z"
    return f"{prefix}{hours:02d}:{minutes:02d}:{seconds:02d}Z"


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
