"""Indicators per day for each source, drawn on the server as small SVG column charts.

One request returns one SVG document holding a nested <svg> per source (`data-source` names it),
so the Feeds page needs one call however many sources there are (a free key has 10 requests a
minute). Columns, not a line: the counts are per day and a feed's quiet days must show as gaps.
Colours are `currentColor`, so the charts follow the page's light or dark theme when inlined.

The counts are cached per window and refreshed in the background when ingestion has written since
(ActivityCache): the query scans a month of sightings (see store.activity).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy import Engine

from iocfeed.store.activity import ActivityWindow, SourceActivity, daily_sightings_by_source, window_start
from iocfeed.store.writer import read_sync_clock
from iocfeed.timeutil import from_us

COLUMN_WIDTH = 3
COLUMN_GAP = 1
CHART_HEIGHT = 24
ROW_SPACING = 30  # between charts when the document is opened on its own

log = logging.getLogger(__name__)


class ActivityCache:
    """The activity window of each length, exact for the writer clock it was counted at.

    Ingestion writes every few minutes, and on a store without the suggested index (store.activity)
    a count costs a few hundred ms; so once a window has been counted, a newer clock is served the
    previous counts at once while one background thread counts again (one refresh behind at most,
    for a chart whose unit is a day). Only the first request of a day and window waits.
    """

    def __init__(self) -> None:
        self._windows: dict[tuple[int, int], ActivityWindow] = {}  # (days, today's midnight) -> counts
        self._refreshing: set[tuple[int, int]] = set()
        self._lock = threading.Lock()

    def window(self, engine: Engine, now: int, days: int) -> ActivityWindow:
        key = (days, window_start(now, 1))
        with self._lock:
            cached = self._windows.get(key)
        if cached is not None:
            with engine.connect() as connection:
                if read_sync_clock(connection) != cached.clock:
                    self._refresh_in_background(engine, now, key)
            return cached
        return self._count(engine, now, key)

    def _count(self, engine: Engine, now: int, key: tuple[int, int]) -> ActivityWindow:
        with engine.connect() as connection:
            window = daily_sightings_by_source(connection, now, key[0])
        with self._lock:
            current = self._windows.get(key)
            if current is None or current.clock <= window.clock:
                self._windows[key] = window
            for old in [k for k in self._windows if k[1] < key[1]]:  # windows that ended yesterday
                del self._windows[old]
        return window

    def _refresh_in_background(self, engine: Engine, now: int, key: tuple[int, int]) -> None:
        with self._lock:
            if key in self._refreshing:
                return
            self._refreshing.add(key)

        def refresh() -> None:
            try:
                self._count(engine, now, key)
            except Exception:
                log.exception("counting source activity failed; serving the previous counts")
            finally:
                with self._lock:
                    self._refreshing.discard(key)

        threading.Thread(target=refresh, name="iocfeed-activity", daemon=True).start()


def _day(first_day_us: int, offset: int) -> str:
    return (from_us(first_day_us) + timedelta(days=offset)).strftime("%Y-%m-%d")


def describe(activity: SourceActivity, window: ActivityWindow) -> str:
    """The chart in words, for screen readers and the tooltip."""
    total = activity.total
    if total == 0:
        return f"{activity.name}: no new indicators in the last {window.days} days"
    busiest = max(range(window.days), key=lambda i: (activity.daily[i], i))
    today = activity.daily[-1]
    return (
        f"{activity.name}: {total:,} new indicators in the last {window.days} days; "
        f"most on {_day(window.first_day_us, busiest)} ({activity.daily[busiest]:,}); today {today:,}"
    )


def sparkline_svg(activity: SourceActivity, window: ActivityWindow, y: int = 0) -> str:
    width = window.days * (COLUMN_WIDTH + COLUMN_GAP) - COLUMN_GAP
    label = describe(activity, window)
    peak = max(activity.daily) or 1
    columns = []
    for index, count in enumerate(activity.daily):
        x = index * (COLUMN_WIDTH + COLUMN_GAP)
        # A quiet day is a 1-unit stub on the baseline, so "nothing" is visible as such.
        height = max(1.0, round(count / peak * (CHART_HEIGHT - 2), 1)) if count else 1.0
        opacity = "1" if count else "0.35"
        columns.append(
            f'<rect x="{x}" y="{CHART_HEIGHT - height:g}" width="{COLUMN_WIDTH}" height="{height:g}" '
            f'fill="currentColor" fill-opacity="{opacity}"/>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" data-source={quoteattr(activity.name)} '
        f'data-total="{activity.total}" y="{y}" width="{width}" height="{CHART_HEIGHT}" '
        f'viewBox="0 0 {width} {CHART_HEIGHT}" role="img" aria-label={quoteattr(label)}>'
        f"<title>{escape(label)}</title>{''.join(columns)}</svg>"
    )


def sparklines_document(window: ActivityWindow, only_source: str | None = None) -> bytes:
    chosen = [s for s in window.sources if only_source is None or s.name == only_source]
    width = window.days * (COLUMN_WIDTH + COLUMN_GAP) - COLUMN_GAP
    height = max(1, len(chosen)) * ROW_SPACING
    charts = "".join(sparkline_svg(s, window, i * ROW_SPACING) for i, s in enumerate(chosen))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'data-first-day="{_day(window.first_day_us, 0)}" data-days="{window.days}">{charts}</svg>'
    ).encode()
