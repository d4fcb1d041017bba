"""indicator_counts stays exact, whoever writes: ingest, re-derivation, rescoring, raw SQL."""

from __future__ import annotations

import itertools

from sqlalchemy import text

from iocfeed.sources.records import RawRecord
from iocfeed.store.feed_reads import FeedReader
from iocfeed.store.queries import IndicatorFilter
from iocfeed.store.rescore import rescore_all
from iocfeed.timeutil import MICROS_PER_DAY, now_us
from tests.conftest import ingest_values

FILTERS = [
    IndicatorFilter(),
    IndicatorFilter(statuses=None),
    IndicatorFilter(types=("ipv4",)),
    IndicatorFilter(types=("ipv4", "domain"), confidences=("high", "medium")),
    IndicatorFilter(categories=("government",)),
    IndicatorFilter(categories=("commercial", "community"), statuses=("active", "expired")),
    IndicatorFilter(industries_mask=1 << 7),
    IndicatorFilter(types=("url",), categories=("community",), industries_mask=(1 << 7) | (1 << 15)),
    IndicatorFilter(confidences=()),
]


def assert_counts_exact(engine):
    reader = FeedReader(engine)
    for flt in FILTERS:
        summed = reader.count_at(flt)[1]
        where, params = reader._where(flt)
        with engine.connect() as connection:
            cursor = connection.connection.dbapi_connection.cursor()
            cursor.execute(f"SELECT count(*) FROM indicators i{where}", params)
            assert summed == cursor.fetchone()[0], flt


def test_counts_follow_every_write(engine, settings):
    ips = [f"45.{i}.1.{i}" for i in range(40)]
    ingest_values(
        engine,
        settings,
        "Community",
        "community",
        [RawRecord(f"l{i}", v, industries="energy" if i % 2 else None) for i, v in enumerate(ips)],
    )
    assert_counts_exact(engine)
    ingest_values(
        engine,
        settings,
        "Gov",
        "government",
        [*ips[:10], *(f"bad-{i}.example-evil.com" for i in range(5))],
        industries=("water",),
    )
    assert_counts_exact(engine)
    with engine.begin() as connection:  # an operator's raw SQL is counted too
        connection.execute(text("UPDATE indicators SET status = 'revoked' WHERE value = :v"), {"v": ips[3]})
        connection.execute(
            text("DELETE FROM sightings WHERE indicator_pk = (SELECT pk FROM indicators WHERE value = :v)"),
            {"v": ips[4]},
        )
        connection.execute(text("DELETE FROM indicators WHERE value = :v"), {"v": ips[4]})
    assert_counts_exact(engine)
    rescore_all(engine, now=now_us() + 60 * MICROS_PER_DAY)  # bands fall, some expire
    assert_counts_exact(engine)
    ingest_values(engine, settings, "Community", "commercial", ips[:5])  # a category change re-derives
    assert_counts_exact(engine)


def test_counts_match_on_a_generated_store(engine, settings):
    from benchmarks.generate_store import generate

    generate(settings.effective_database_url, 3_000)
    assert_counts_exact(engine)
    reader = FeedReader(engine)
    for types, statuses in itertools.product((("md5",), ("sha256", "url")), (("active",), None)):
        flt = IndicatorFilter(types=types, statuses=statuses)
        assert reader.count_at(flt)[1] > 0
