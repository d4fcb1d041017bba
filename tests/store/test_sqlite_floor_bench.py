"""benchmarks/sqlite_floor.py replays what an ingest wrote: every row, into the shipped schema."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from benchmarks.ingest_bench import generate
from benchmarks.sqlite_floor import copy_rows, ingest, replay, secondary_indexes


def test_the_replay_stores_every_row_the_ingest_wrote(tmp_path: Path) -> None:
    feed, written, rows = tmp_path / "feed.csv", tmp_path / "written.db", tmp_path / "rows.db"
    generate(feed, 2_500)
    ingest(feed, written, tmp_path / "home")
    count = copy_rows(written, rows)
    assert count > 2_400  # a few random addresses repeat

    target = tmp_path / "replay.db"
    replay(written, rows, target, None)  # raises when a table's count differs
    with closing(sqlite3.connect(target)) as replayed, closing(sqlite3.connect(written)) as original:
        for table in ("indicators", "sightings"):
            query = f"SELECT * FROM {table} ORDER BY pk"
            assert replayed.execute(query).fetchall() == original.execute(query).fetchall()
        assert replayed.execute("PRAGMA foreign_key_check").fetchall() == []


def test_each_secondary_index_can_be_left_out(tmp_path: Path) -> None:
    feed, written, rows = tmp_path / "feed.csv", tmp_path / "written.db", tmp_path / "rows.db"
    generate(feed, 300)
    ingest(feed, written, tmp_path / "home")
    copy_rows(written, rows)
    names = secondary_indexes(written)
    assert "ix_indicators_first_seen" in names and "uq_sightings_indicator_source_article" in names
    target = tmp_path / "replay.db"
    replay(written, rows, target, "ix_indicators_first_seen")
    with closing(sqlite3.connect(target)) as replayed:
        indexes = {
            name for (name,) in replayed.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
    assert "ix_indicators_first_seen" not in indexes and "ix_indicators_last_seen" in indexes
