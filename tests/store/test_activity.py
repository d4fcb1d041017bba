"""Per-source activity (the console's sparklines) counts indicators, not sightings."""

from __future__ import annotations

from iocfeed.articles import ArticleInput
from iocfeed.sources.records import RawArticle
from iocfeed.store.activity import daily_sightings_by_source
from iocfeed.store.migrate import upgrade
from iocfeed.timeutil import now_us
from tests.conftest import ingest_values


def article(n: int, text: str) -> ArticleInput:
    return ArticleInput(
        RawArticle(f"entry {n}", f"Advisory {n}", f"https://cisa.example/aa{n}", content=text)
    )


def test_an_indicator_in_two_advisories_counts_once_a_day(engine, settings):
    upgrade(engine)
    ingest_values(
        engine,
        settings,
        "Advisories",
        "government",
        [
            article(1, "<p>The actor used 45.77.1.1 and 45.77.1.2 for command and control.</p>"),
            article(2, "<p>Again from 45.77.1.1 this week.</p>"),
        ],
    )
    ingest_values(engine, settings, "Blocklist", "community", ["45.77.1.1", "45.77.1.3"])
    with engine.connect() as connection:
        window = daily_sightings_by_source(connection, now_us(), 7)
    today = {activity.name: activity.daily[-1] for activity in window.sources}
    assert today == {"Advisories": 2, "Blocklist": 2}
