"""The derived indicator row: dedup, corroboration, best source, updated_at semantics, atomic batches."""

import pytest
from sqlalchemy import select, text

from iocfeed.sources.records import RawRecord
from iocfeed.store import upsert as upsert_module
from iocfeed.store.schema import indicators, sightings
from tests.conftest import ingest_values


def rows(engine):
    with engine.connect() as connection:
        return {r.value: r for r in connection.execute(select(indicators))}


def test_one_record_per_indicator_across_sources(engine, settings):
    ingest_values(engine, settings, "Feed A", "community", ["1.2.3.4", "evil.example.com"])
    ingest_values(engine, settings, "Feed B", "government", ["1.2.3[.]4"])
    found = rows(engine)
    assert set(found) == {"1.2.3.4", "evil.example.com"}
    ip = found["1.2.3.4"]
    assert ip.source_count == 2
    assert ip.categories_mask == 1 | 4
    # Two independent sources raise the score above the strongest one alone.
    assert ip.score > 85
    with engine.connect() as connection:
        raw = [
            r.raw_value
            for r in connection.execute(select(sightings).where(sightings.c.indicator_pk == ip.pk))
        ]
    assert sorted(raw) == ["1.2.3.4", "1.2.3[.]4"]  # the raw value as each source wrote it is kept


def test_reimport_changes_nothing_a_client_sees(engine, settings):
    values = ["5.6.7.8", "hxxp://bad[.]example[.]net/x.php", "44d88612fea8a8f36de82e1278abb02f"]
    first = ingest_values(engine, settings, "Feed A", "community", values)
    assert first.counts.new == 3
    before = {v: (r.updated_at, r.last_seen) for v, r in rows(engine).items()}
    again = ingest_values(engine, settings, "Feed A", "community", values)
    assert (again.counts.new, again.counts.updated, again.counts.unchanged) == (0, 0, 3)
    assert {v: (r.updated_at, r.last_seen) for v, r in rows(engine).items()} == before


def test_last_seen_moves_only_past_the_granularity(engine, settings):
    ingest_values(engine, settings, "Feed A", "community", ["5.6.7.8"])
    with engine.begin() as connection:  # pretend the sighting is two days old
        connection.execute(text("UPDATE sightings SET last_seen = last_seen - 172800000000"))
        connection.execute(text("UPDATE indicators SET last_seen = last_seen - 172800000000"))
    old = rows(engine)["5.6.7.8"]
    result = ingest_values(engine, settings, "Feed A", "community", ["5.6.7.8"])
    assert result.counts.updated == 1
    new = rows(engine)["5.6.7.8"]
    assert new.last_seen > old.last_seen and new.updated_at > old.updated_at


def test_new_source_bumps_updated_at(engine, settings):
    ingest_values(engine, settings, "Feed A", "community", ["5.6.7.8"])
    old = rows(engine)["5.6.7.8"]
    result = ingest_values(engine, settings, "Feed B", "commercial", ["5.6.7.8"])
    assert result.counts.updated == 1
    assert rows(engine)["5.6.7.8"].updated_at > old.updated_at


def test_best_source_per_category(engine, settings):
    ingest_values(engine, settings, "Community Feed", "community", ["9.9.8.8"], reliability=70)
    ingest_values(engine, settings, "Vendor", "commercial", ["9.9.8.8"], reliability=80)
    ingest_values(engine, settings, "Weak Vendor", "commercial", ["9.9.8.8"], reliability=40)
    row = rows(engine)["9.9.8.8"]
    with engine.connect() as connection:
        names = dict(
            connection.execute(
                text("SELECT s.pk, src.name FROM sightings s JOIN sources src ON src.id = s.source_id")
            ).all()
        )
    assert names[row.best_sighting] == "Vendor"
    assert names[row.best_commercial_sighting] == "Vendor"
    assert names[row.best_community_sighting] == "Community Feed"
    assert row.best_government_sighting is None


def test_tags_sectors_and_context_are_merged(engine, settings):
    ingest_values(
        engine,
        settings,
        "A",
        "community",
        [RawRecord("line 1", "7.7.7.7", tags="c2, Botnet", industries="energy", context="C2 of X")],
    )
    ingest_values(
        engine,
        settings,
        "B",
        "government",
        [RawRecord("line 1", "7.7.7.7", tags="c2;apt")],
        industries=("water",),
    )
    row = rows(engine)["7.7.7.7"]
    assert row.tags == '["apt","botnet","c2"]'
    assert row.industries == '["energy","water"]'
    assert row.context == "C2 of X"


def test_a_failed_batch_leaves_the_database_as_it_was(engine, settings, monkeypatch):
    ingest_values(engine, settings, "Feed A", "community", ["1.1.2.2"])
    before = rows(engine)
    real_write = upsert_module._write

    def write_then_crash(*args, **kwargs):
        real_write(*args, **kwargs)  # rows are written inside the transaction ...
        raise RuntimeError("power cut")  # ... and then the process dies before commit

    monkeypatch.setattr(upsert_module, "_write", write_then_crash)
    with pytest.raises(RuntimeError):
        ingest_values(engine, settings, "Feed B", "government", ["1.1.2.2", "3.3.4.4"])
    assert rows(engine).keys() == before.keys()
    assert rows(engine)["1.1.2.2"].source_count == 1
    with engine.connect() as connection:
        status = connection.execute(text("SELECT status, error FROM ingest_runs ORDER BY id DESC")).first()
    assert status.status == "failed" and "power cut" in status.error


def test_batches_commit_independently(engine, settings, monkeypatch):
    """With batch_size 50, a crash in the third batch keeps the first two."""
    calls = {"n": 0}
    real_write = upsert_module._write

    def crash_on_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("crash")
        real_write(*args, **kwargs)

    monkeypatch.setattr(upsert_module, "_write", crash_on_third)
    values = [f"45.{i // 250}.{i % 250}.1" for i in range(150)]
    with pytest.raises(RuntimeError):
        ingest_values(engine, settings, "Feed", "community", values)
    assert len(rows(engine)) == 100


def test_writer_clock_is_strictly_increasing(engine, settings):
    ingest_values(engine, settings, "A", "community", ["2.2.2.3"])
    ingest_values(engine, settings, "A", "community", ["2.2.2.4"])
    found = rows(engine)
    assert found["2.2.2.4"].updated_at > found["2.2.2.3"].updated_at
