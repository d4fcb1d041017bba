"""The bulk paths of the upsert: the fast path for new values agrees with the general derivation,
the driver-level statements read and write whole batches on both backends, and the connection
settings of a big ingest apply while it runs and are put back afterwards."""

from __future__ import annotations

import sqlite3
import uuid

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from iocfeed.pipeline import RecordMapping, ingest_records
from iocfeed.scoring import HALF_LIFE_DAYS
from iocfeed.sources.records import RawRecord
from iocfeed.store import bulk
from iocfeed.store import engine as engine_module
from iocfeed.store import upsert as upsert_module
from iocfeed.store.catalog import SourceSpec
from iocfeed.store.schema import indicators, sightings
from iocfeed.store.upsert import (
    _SIGHTING_COLUMNS,
    INDICATOR_COLUMNS,
    INDICATOR_NAMESPACE,
    Observation,
    SourceInfo,
    _derive,
    _NewRows,
    _number_new,
    _Sighting,
    indicator_uuid,
)
from iocfeed.store.writer import write_batch
from iocfeed.timeutil import MICROS_PER_DAY
from tests.conftest import ingest_values

NOW = 1_795_000_000_000_000
CLOCK = NOW + 17


@settings(max_examples=300)
@given(st.sampled_from(["ipv4", "url", "sha256", "domain"]), st.text(max_size=80))
def test_indicator_uuid_is_uuid5_of_type_and_value(kind, value):
    try:
        expected = str(uuid.uuid5(INDICATOR_NAMESPACE, f"{kind}|{value}"))
    except UnicodeEncodeError:  # lone surrogates: neither encodes them
        with pytest.raises(UnicodeEncodeError):
            indicator_uuid(kind, value)
        return
    assert indicator_uuid(kind, value) == expected


_words = st.lists(st.sampled_from(["c2", "botnet", "elf", "mirai", "zip"]), max_size=3).map(tuple)
_sectors = st.lists(st.sampled_from(["energy", "financial-services", "dams"]), max_size=2).map(tuple)
_instants = st.one_of(st.none(), st.integers(NOW - 400 * MICROS_PER_DAY, NOW + MICROS_PER_DAY), st.just(0))


@st.composite
def _observations(draw):
    return Observation(
        type=draw(st.sampled_from(sorted(HALF_LIFE_DAYS))),
        value="v",
        raw_value="V",
        first_seen=draw(_instants),
        last_seen=draw(_instants),
        tags=draw(_words),
        industries=draw(_sectors),
        mitre_techniques=draw(st.lists(st.sampled_from(["T1566", "T1059"]), max_size=2).map(tuple)),
        context=draw(st.sampled_from([None, "", "C2 of X"])),
        reference_url=draw(st.sampled_from([None, "https://example.org/a"])),
        article_id=draw(st.sampled_from([None, "0c8f3a52-7d1e-5b6a-9f20-41e3c6d8a7b9"])),
        screened_by=draw(st.sampled_from([None, "", "List of RFC 1918 CIDR blocks"])),
    )


@settings(max_examples=400)
@given(
    _observations(),
    st.sampled_from(["government", "commercial", "community"]),
    st.integers(0, 100),
)
def test_the_fast_path_derives_what_the_general_path_derives(obs, category, reliability):
    source = SourceInfo(7, "Feed", category, reliability)
    new_rows = _NewRows(source, NOW)
    new_rows(obs, "another-id")  # the second call takes what the first worked out
    fast_indicator, fast_sighting = new_rows(obs, "the-id")
    _number_new(fast_indicator, fast_sighting, 12, 41, CLOCK)

    # The general path: a group of one new sighting, derived and written as it always was.
    first = min(obs.first_seen or NOW, NOW)
    last = min(max(obs.last_seen or NOW, first), NOW)
    sighting = _Sighting(
        pk=41, indicator_pk=12, source_id=7, article_id=obs.article_id, first_seen=first,
        last_seen=last, raw_value=obs.raw_value, context=obs.context, reference_url=obs.reference_url,
        tags=set(obs.tags), industries=set(obs.industries), mitre_techniques=set(obs.mitre_techniques),
        is_new=True,
    )  # fmt: skip
    status, reason = ("false-positive", obs.screened_by) if obs.screened_by else ("active", None)
    derived = _derive(obs.type, status, reason, [sighting], {7: source}, NOW)
    derived.update(pk=12, id="the-id", type=obs.type, value=obs.value, created_at=CLOCK, updated_at=CLOCK)
    assert dict(zip(INDICATOR_COLUMNS, fast_indicator, strict=True)) == derived
    general_sighting = {
        "pk": 41, "indicator_pk": 12, "source_id": 7, "article_id": obs.article_id,
        "raw_value": obs.raw_value, "created_at": CLOCK, **upsert_module._sighting_row(sighting, CLOCK),
    }  # fmt: skip
    assert dict(zip(_SIGHTING_COLUMNS, fast_sighting, strict=True)) == general_sighting


def _rows(engine, table):
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(table).order_by(table.c.pk))]


def test_a_mixed_batch_new_repeated_existing_and_several_articles(engine, settings):
    """One batch holding new values, a value listed twice, a value another source already has, and
    a value from two articles: the fast and general paths together write what each would."""
    ingest_values(engine, settings, "Gov", "government", ["9.9.9.10"], reliability=85)
    values = ["9.9.9.11", "9.9.9.12", "9.9.9.11", "9.9.9.10", "abcd" * 16]
    result = ingest_values(engine, settings, "Community", "community", values, reliability=60)
    assert (result.counts.new, result.counts.updated, result.counts.unchanged) == (3, 1, 0)
    found = {row["value"]: row for row in _rows(engine, indicators)}
    assert found["9.9.9.10"]["source_count"] == 2 and found["9.9.9.10"]["categories_mask"] == 1 | 4
    assert found["9.9.9.11"]["source_count"] == 1 and found["9.9.9.11"]["score"] == 60
    assert found["abcd" * 16]["type"] == "sha256"
    with engine.connect() as connection:
        per_indicator = dict(
            connection.execute(
                text("SELECT indicator_pk, count(*) FROM sightings GROUP BY indicator_pk")
            ).all()
        )
    assert per_indicator[found["9.9.9.10"]["pk"]] == 2
    assert per_indicator[found["9.9.9.11"]["pk"]] == 1
    # New rows are numbered without gaps; pks of sightings follow on from the last one.
    pks = sorted(row["pk"] for row in found.values())
    assert pks == list(range(pks[0], pks[0] + 4))
    again = ingest_values(engine, settings, "Community", "community", values, reliability=60)
    assert (again.counts.new, again.counts.updated, again.counts.unchanged) == (0, 0, 4)


def test_one_value_from_two_articles_in_one_batch_is_two_sightings(engine, settings):
    from iocfeed.store.articles import upsert_article
    from iocfeed.store.catalog import ensure_source

    source, _ = ensure_source(engine, SourceSpec("Blog", "community", 60, origin="article"))
    first = upsert_article(
        engine, source_id=source.id, title="A", url="https://blog.example/a", published_at=None,
        sectors=[], mitre_techniques=[],
    )  # fmt: skip
    second = upsert_article(
        engine, source_id=source.id, title="B", url="https://blog.example/b", published_at=None,
        sectors=[], mitre_techniques=[],
    )  # fmt: skip
    observations = [
        Observation("ipv4", "9.9.9.20", "9.9.9.20", article_id=first, context="in A"),
        Observation("ipv4", "9.9.9.20", "9.9.9[.]20", article_id=second),
    ]
    with write_batch(engine) as batch:
        counts = upsert_module.upsert_observations(
            batch, source, observations, observed_at=NOW, last_seen_granularity=MICROS_PER_DAY
        )
    assert (counts.new, counts.updated) == (1, 0)
    [row] = _rows(engine, indicators)
    found = _rows(engine, sightings)
    assert [s["article_id"] for s in found] == [first, second]
    assert row["source_count"] == 1 and row["context"] == "in A"
    assert row["best_sighting"] == found[0]["pk"]  # a tie goes to the oldest sighting


def test_bulk_statements_handle_more_rows_than_one_statement_holds(engine, settings, monkeypatch):
    monkeypatch.setattr(bulk, "_SQLITE_ROWS_PER_INSERT", 7)
    values = [f"10.{i // 250}.{i % 250}.9" for i in range(23)]
    ingest_values(engine, settings.model_copy(update={"batch_size": 1000}), "Feed", "community", values)
    stored = _rows(engine, indicators)
    assert sorted(row["value"] for row in stored) == sorted(values)
    with engine.begin() as connection:
        keys = [row["id"] for row in stored] + ["not-there"]
        found = bulk.select_where_in(connection, "indicators", ("pk", "id"), "id", keys)
        assert sorted(row[1] for row in found) == sorted(keys[:-1])
        assert bulk.select_where_in(connection, "indicators", ("pk",), "id", []) == []


def _indicator_row(pk, value):
    row = dict.fromkeys(INDICATOR_COLUMNS)  # status_reason, context and the best sightings: None
    row.update(
        pk=pk, id=indicator_uuid("domain", value), type="domain", value=value, status="active",
        base_score=0.5, score=50, confidence="medium", first_seen=NOW, last_seen=NOW, created_at=NOW,
        updated_at=NOW, source_count=1, categories_mask=4, industries_mask=0, industries="[]",
        tags="[]", mitre_techniques="[]",
    )  # fmt: skip
    return [row[name] for name in INDICATOR_COLUMNS]


def test_a_row_that_breaks_a_constraint_rolls_its_whole_batch_back(engine):
    """SQLite inserts with OR ROLLBACK (no statement journal): a duplicate key undoes the batch's
    earlier statements too, the error reaches the caller, and the next batch writes normally."""
    with engine.connect() as connection:
        clock_before = connection.exec_driver_sql("SELECT clock FROM sync_state").scalar()
    # The driver's own error: the bulk statements run on its cursor.
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)), write_batch(engine) as batch:
        bulk.insert_rows(batch.connection, "indicators", INDICATOR_COLUMNS, [_indicator_row(1, "a.example")])
        rows = [_indicator_row(2, "b.example"), _indicator_row(3, "b.example")]  # one id twice
        bulk.insert_rows(batch.connection, "indicators", INDICATOR_COLUMNS, rows)
    assert _rows(engine, indicators) == []
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT clock FROM sync_state").scalar() == clock_before
    with write_batch(engine) as batch:
        bulk.insert_rows(batch.connection, "indicators", INDICATOR_COLUMNS, [_indicator_row(1, "a.example")])
    (stored,) = _rows(engine, indicators)
    assert stored["value"] == "a.example"
    assert stored["status_reason"] is None and stored["best_government_sighting"] is None  # NULL, bound


def test_a_big_ingest_does_not_map_the_database_and_puts_the_settings_back(tmp_path):
    engine = engine_module.make_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    try:

        def settings_now():
            with engine.connect() as connection:
                return (
                    connection.exec_driver_sql("PRAGMA mmap_size").scalar(),
                    connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar(),
                )

        normal = settings_now()
        assert normal == (engine_module.SQLITE_MMAP_SIZE, engine_module.SQLITE_WAL_AUTOCHECKPOINT)
        with engine_module.bulk_writes(engine):
            assert settings_now() == (0, engine_module.BULK_WAL_AUTOCHECKPOINT)
        assert settings_now() == normal
    finally:
        engine.dispose()


def test_a_failed_batch_stops_the_run_where_it_failed(engine, settings, monkeypatch):
    """With batches written on a thread, reading runs ahead; a failed batch still leaves the run's
    counts as they were when that batch was handed over, and writes nothing after it."""
    calls = {"n": 0}
    real_write = upsert_module._write

    def crash_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        real_write(*args, **kwargs)

    monkeypatch.setattr(upsert_module, "_write", crash_on_second)
    records = [RawRecord(f"line {i}", f"46.{i // 250}.{i % 250}.1") for i in range(1, 400)]
    records.insert(60, RawRecord("line x", "not an indicator"))
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_records(engine, settings, SourceSpec("Feed", "community", 60), records, RecordMapping())
    assert calls["n"] == 2
    assert len(_rows(engine, indicators)) == 50
    with engine.connect() as connection:
        run = connection.execute(text("SELECT parsed, accepted, rejected FROM ingest_runs")).one()
    assert tuple(run) == (101, 100, 1)  # as when the second batch of 50 was handed over
