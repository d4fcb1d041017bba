"""Batches are written on a writer thread while the next one is read: the run behaves as it did
when reading and writing took turns (order, counts, errors, what is committed)."""

from __future__ import annotations

import gc
import sys

import pytest
from sqlalchemy import func, select, text

import iocfeed.pipeline as pipeline_module
from iocfeed.errors import ImportFormatError
from iocfeed.pipeline import WRITER_SWITCH_INTERVAL, RecordMapping, ingest_records
from iocfeed.sources.records import RawRecord
from iocfeed.store.catalog import SourceSpec
from iocfeed.store.schema import indicators


def _records(count, first=1):
    for i in range(first, first + count):
        yield RawRecord(f"line {i}", f"47.{i // 250}.{i % 250}.1")


def test_every_batch_is_written_in_order_with_the_interpreter_settings_put_back(engine, settings):
    interval, threshold = sys.getswitchinterval(), gc.get_threshold()
    seen = []
    result = ingest_records(
        engine, settings, SourceSpec("Feed", "community", 60), _records(175), RecordMapping(),
        on_progress=seen.append,
    )  # fmt: skip
    assert (result.parsed, result.accepted, result.counts.new) == (175, 175, 175)
    assert seen == [50, 100, 150, 175]
    assert sys.getswitchinterval() == interval and gc.get_threshold() == threshold
    with engine.connect() as connection:
        rows = connection.execute(
            select(indicators.c.pk, indicators.c.updated_at).order_by(indicators.c.pk)
        ).all()
    assert len(rows) == 175
    clocks = [row.updated_at for row in rows]
    assert len(set(clocks)) == 4  # four batches, four write clocks ...
    assert clocks == sorted(clocks)  # ... committed one after the other, in order


def test_a_reader_error_keeps_the_batches_already_handed_over(engine, settings):
    def broken():
        yield from _records(120)
        raise ImportFormatError("feed.csv: the file could not be read to its end")

    interval = sys.getswitchinterval()
    result = ingest_records(engine, settings, SourceSpec("Feed", "community", 60), broken(), RecordMapping())
    assert result.error and "could not be read" in result.error
    assert sys.getswitchinterval() == interval != WRITER_SWITCH_INTERVAL
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(indicators)).scalar() == 100
        run = connection.execute(text("SELECT status, parsed, accepted FROM ingest_runs")).one()
    assert (run.status, run.parsed, run.accepted) == ("failed", 120, 120)


def test_articles_are_stored_while_batches_are_written(engine, settings):
    """An article row is written by the reading thread while the writer may hold a batch open: it
    waits its turn, and its indicators' sightings point at it."""
    from iocfeed.articles import ArticleInput
    from iocfeed.sources.records import RawArticle

    def items():
        yield from _records(60)
        yield ArticleInput(
            RawArticle(
                "item 1",
                "Advisory",
                "https://advisories.example/a1",
                content="C2 at 198.51.100.77 and evil-c2.com",
            ),
            None,
        )
        yield from _records(60, first=61)

    result = ingest_records(
        engine, settings, SourceSpec("Blog", "community", 60, origin="article"), items(), RecordMapping()
    )
    assert result.error is None and result.articles == 1
    with engine.connect() as connection:
        linked = (
            connection.execute(
                text(
                    "SELECT i.value FROM sightings s JOIN indicators i ON i.pk = s.indicator_pk "
                    "WHERE s.article_id IS NOT NULL ORDER BY i.value"
                )
            )
            .scalars()
            .all()
        )
    assert "evil-c2.com" in linked


FEED = SourceSpec("Feed", "community", 60)


def _ingest_in_chunks_of_20(engine, settings, monkeypatch, items, *, batch_size, spec=FEED):
    """Run `items` with batches of `batch_size` rows handed to the writer 20 rows at a time."""
    monkeypatch.setattr(pipeline_module, "PREPARE_CHUNK", 20)
    batched = settings.model_copy(update={"batch_size": batch_size})
    return ingest_records(engine, batched, spec, items, RecordMapping())


def test_a_batch_of_several_chunks_is_one_transaction(engine, settings, monkeypatch):
    """A batch is handed over in chunks; its rows share one write clock (one transaction)."""
    _ingest_in_chunks_of_20(engine, settings, monkeypatch, _records(250), batch_size=100)
    with engine.connect() as connection:
        clocks = connection.execute(
            select(indicators.c.updated_at, func.count()).group_by(indicators.c.updated_at)
        ).all()
    assert sorted(count for _, count in clocks) == [50, 100, 100]


def test_a_failed_chunk_rolls_back_its_whole_batch(engine, settings, monkeypatch):
    from iocfeed.store import upsert as upsert_module

    calls = {"n": 0}
    real_write = upsert_module._write

    def crash_in_the_second_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 7:  # chunks 6-10 are the second batch
            raise RuntimeError("disk full")
        real_write(*args, **kwargs)

    monkeypatch.setattr(upsert_module, "_write", crash_in_the_second_batch)
    with pytest.raises(RuntimeError, match="disk full"):
        _ingest_in_chunks_of_20(engine, settings, monkeypatch, _records(250), batch_size=100)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(indicators)).scalar() == 100
        run = connection.execute(text("SELECT parsed, accepted FROM ingest_runs")).one()
    assert tuple(run) == (120, 120)  # as when the failed batch's first chunk was handed over


def test_an_article_does_not_wait_for_a_batch_left_open(engine, settings, monkeypatch):
    """With batches larger than chunks, the article row (written from the reading thread) must not
    wait on a writer holding its transaction open for rows that come after the article."""
    from iocfeed.articles import ArticleInput
    from iocfeed.sources.records import RawArticle

    def items():
        yield from _records(30)
        yield ArticleInput(
            RawArticle("item 1", "Advisory", "https://advisories.example/a1", content="C2 at evil-c2.com"),
            None,
        )
        yield from _records(30, first=31)

    blog = SourceSpec("Blog", "community", 60, origin="article")
    result = _ingest_in_chunks_of_20(engine, settings, monkeypatch, items(), batch_size=1_000, spec=blog)
    assert result.error is None and result.articles == 1 and result.accepted == 61


def test_a_batch_that_fails_to_commit_at_the_end_of_the_feed_fails_the_run(engine, settings, monkeypatch):
    """The last batch, left open when reading ends on a chunk boundary, is committed by `close`; a
    failure there is the run's failure, not a writer thread dying quietly."""

    def refuse(self):
        raise RuntimeError("commit refused")

    monkeypatch.setattr(pipeline_module._OpenBatch, "commit", refuse)
    with pytest.raises(RuntimeError, match="commit refused"):
        _ingest_in_chunks_of_20(engine, settings, monkeypatch, _records(40), batch_size=1_000)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(indicators)).scalar() == 0
