"""How active each source has been: indicators it reported for the first time, per UTC day.

The console's Feeds page draws this as a sparkline per source ("did this feed go quiet?"). A sighting
is created the first time a source reports an indicator (for an advisory source, the first time each
article does), so the series counts distinct indicators among the sightings created each day.

Speed on a large store: the query is bounded by `sightings.created_at` and reads nothing but
`source_id` and `indicator_pk`, which ride on the (created_at, source_id, indicator_pk) index: one
covering range scan of the window. The caller (api.ui_sparkline) also caches the counts and
refreshes them after ingestion writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, literal, select

from iocfeed.store.schema import sightings, sources
from iocfeed.store.writer import read_sync_clock
from iocfeed.timeutil import MICROS_PER_DAY

MAX_ACTIVITY_DAYS = 90


@dataclass(frozen=True, slots=True)
class SourceActivity:
    """Sightings created per day, oldest day first: `daily[i]` counts day `first_day + i`."""

    name: str
    daily: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.daily)


@dataclass(frozen=True, slots=True)
class ActivityWindow:
    first_day_us: int  # midnight UTC that starts the oldest day
    days: int
    clock: int  # the writer clock the counts are exact for
    sources: tuple[SourceActivity, ...]  # every source, in name order, quiet ones with zeros


def window_start(now_us: int, days: int) -> int:
    """Midnight UTC of the oldest day of a `days`-day window that ends with today."""
    today = now_us - now_us % MICROS_PER_DAY
    return today - (days - 1) * MICROS_PER_DAY


def daily_sightings_by_source(connection: Connection, now_us: int, days: int) -> ActivityWindow:
    """Per source, the distinct indicators among the sightings created on each of the last `days`
    UTC days (today included)."""
    if not 1 <= days <= MAX_ACTIVITY_DAYS:
        raise ValueError(f"days must be 1..{MAX_ACTIVITY_DAYS}")
    clock = read_sync_clock(connection)  # first, like every reader: the counts are at least this fresh
    start = window_start(now_us, days)
    day_index = ((sightings.c.created_at - literal(start)) // MICROS_PER_DAY).label("day_index")
    # `source_id + 0` keeps the planner off ix_sightings_source: SQLite otherwise walks that index to
    # get the GROUP BY order for free and visits every sighting of the store instead of the window.
    source_key = (sightings.c.source_id + 0).label("source_key")
    counts = connection.execute(
        select(source_key, day_index, func.count(sightings.c.indicator_pk.distinct()).label("n"))
        .where(sightings.c.created_at >= start)
        .group_by(source_key, day_index)
    ).all()
    names = connection.execute(select(sources.c.id, sources.c.name).order_by(sources.c.name)).all()
    series: dict[int, list[int]] = {source_id: [0] * days for source_id, _ in names}
    for source_id, index, count in counts:
        if source_id in series and 0 <= index < days:  # a clock ahead of `now` lands past today: skip
            series[source_id][index] += count
    return ActivityWindow(
        first_day_us=start,
        days=days,
        clock=clock,
        sources=tuple(SourceActivity(name, tuple(series[source_id])) for source_id, name in names),
    )
