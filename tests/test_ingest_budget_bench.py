"""benchmarks/ingest_budget.py: its passes do the pipeline's own work, and its bound is arithmetic
on what they measured."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from benchmarks.ingest_bench import generate
from benchmarks.ingest_budget import STAGES, Pass, measure, report
from iocfeed.indicators.screen import Screener


def test_the_write_pass_stores_what_the_shipped_pipeline_stores(tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    generate(feed, 1_500)
    passes, pipeline = measure(feed, tmp_path, Screener.default())

    assert [each.stage for each in passes] == list(STAGES)
    assert passes[0].rows == 1_500
    assert passes[-1].rows == pipeline.rows > 1_400  # a few random addresses repeat
    # last_seen is each run's own clock (the feed gives first_seen only)
    query = "SELECT id, type, value, status, score, first_seen, tags FROM indicators ORDER BY id"
    with (
        closing(sqlite3.connect(tmp_path / "passes.db")) as serial,
        closing(sqlite3.connect(tmp_path / "shipped.db")) as shipped,
    ):
        assert serial.execute(query).fetchall() == shipped.execute(query).fetchall()
        sightings = "SELECT count(*) FROM sightings"
        assert (
            serial.execute(sightings).fetchone() == shipped.execute(sightings).fetchone() == (pipeline.rows,)
        )


def test_the_bound_is_all_stages_cpu_over_the_cores() -> None:
    passes = [
        Pass(stage, 1_000, 0.0, cpu) for stage, cpu in zip(STAGES, (1.0, 2.0, 3.0, 4.0, 10.0), strict=True)
    ]
    text = report(passes, Pass("pipeline", 1_000, 8.0, 12.0), cores=2)

    assert "| convert | 2.0 | 1.0 | 1000.0 |" in text
    assert "| write | 10.0 | 6.0 | 6000.0 |" in text
    assert "no overlap of them finishes in less than 5.0 s: at best 200 indicators/s" in text
    assert "The pipeline as shipped (writer thread): 8.0 s, 12.0 CPU seconds, 125 indicators/s." in text
    # 1,000 rows at 50,000/s: 0.02 s, 0.04 CPU seconds on two cores; the stages need 250 times that.
    assert "leaves 0.0 s, that is 0.0 CPU seconds on 2 cores: 250.00 times" in text
