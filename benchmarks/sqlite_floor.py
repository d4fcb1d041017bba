"""What SQLite alone needs to store an ingest's rows: the floor under ingest_bench's SQLite figure.

    .venv/bin/python -m benchmarks.sqlite_floor [--rows 1000000] [--each-index]

Ingests a generated feed (the same CSV as ingest_bench) through the real pipeline once, keeps the
indicator and sighting rows it wrote, then replays exactly those rows into a fresh database with
the same schema and connection settings, in the same order, chunks and transactions as the writer
(10,000-row chunks, 100,000-row transactions, `INSERT OR ROLLBACK`), but as `INSERT ... SELECT`
from an attached copy. No Python touches a row, so the time is the database's alone: index
maintenance, constraint checks, the WAL (and reading the copy, a small part). The writer's other
statements (the existence check, the counts) are not in it. With --each-index it replays once
more per secondary index, without that index, so each one's share shows, and with every index
again at the end: the host's drift over the run (compare those two rows before the others).
Prints Markdown, the ingest's own time first.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

from benchmarks.ingest_bench import generate
from iocfeed.config import Settings
from iocfeed.indicators.screen import Screener
from iocfeed.ingest import Ingestor
from iocfeed.sources.catalog import load_catalog
from iocfeed.store.engine import bulk_writes, make_engine
from iocfeed.store.migrate import upgrade

CHUNK = 10_000  # pipeline.PREPARE_CHUNK
BATCH = 100_000  # Settings.batch_size's default
TABLES = ("indicators", "sightings")


def ingest(feed: Path, database: Path, home: Path) -> tuple[float, float]:
    """The rows to replay: the feed through the real pipeline. Returns its wall and CPU seconds
    (both of its threads)."""
    catalog = home / "catalog.toml"
    home.mkdir(parents=True, exist_ok=True)
    catalog.write_text(
        f'[[source]]\nname = "Bench"\ncategory = "community"\nurl = "{feed.as_uri()}"\nformat = "csv"\n'
    )
    url = f"sqlite:///{database}"
    engine = make_engine(url)
    upgrade(engine)
    ingestor = Ingestor(engine, Settings(home=home, database_url=url), {}, screener=Screener.default())
    definition = load_catalog(catalog, include_bundled=False)[0]
    wall, cpu = time.perf_counter(), time.process_time()
    outcome = ingestor.run(definition)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    engine.dispose()
    if outcome.status != "ingested":
        raise SystemExit(f"the ingest did not complete: {outcome.status}: {outcome.message}")
    return wall, cpu


def copy_rows(source: Path, rows: Path) -> int:
    """The two tables' rows into plain tables without indexes, numbered (rowid) in the order the
    writer inserted them, so that a chunk is a rowid range in each."""
    connection = sqlite3.connect(rows)
    connection.execute("ATTACH ? AS written", (str(source),))
    connection.execute("CREATE TABLE indicators AS SELECT * FROM written.indicators ORDER BY pk")
    # By indicator: the sightings of a run of indicators are then a run of rowids too.
    connection.execute("CREATE TABLE sightings AS SELECT * FROM written.sightings ORDER BY indicator_pk, pk")
    connection.execute("CREATE INDEX sightings_of ON sightings (indicator_pk)")
    connection.commit()
    count = connection.execute("SELECT count(*) FROM indicators").fetchone()[0]
    connection.close()
    return count


def secondary_indexes(schema_from: Path) -> list[str]:
    """Indexes a replay can go without (a table's own constraints cannot be dropped)."""
    connection = sqlite3.connect(schema_from)
    names = [
        name
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('indicators', 'sightings') ORDER BY tbl_name, name"
        )
    ]
    connection.close()
    return names


def replay(source: Path, rows: Path, target: Path, without: str | None) -> tuple[float, float]:
    """Wall and CPU seconds to insert every row of `rows` into a fresh `target`."""
    engine = make_engine(f"sqlite:///{target}")
    upgrade(engine)  # the schema as migrations make it
    # A pool connection checked out during bulk_writes runs with exactly the writer's settings
    # (store.engine: page size, WAL, foreign keys, cache, then no mmap and the bulk checkpoint).
    with bulk_writes(engine):
        pooled = engine.raw_connection()
    connection: sqlite3.Connection = pooled.driver_connection  # type: ignore[assignment]
    if without:
        connection.execute(f"DROP INDEX {without}")
    connection.execute("ATTACH ? AS written", (str(source),))
    connection.execute("DELETE FROM sources")
    connection.execute("INSERT INTO sources SELECT * FROM written.sources")
    connection.execute("DETACH written")
    connection.execute("ATTACH ? AS replayed", (str(rows),))
    chunks = _chunks(connection)
    wall, cpu = time.perf_counter(), time.process_time()
    for batch_start in range(0, len(chunks), BATCH // CHUNK):
        connection.execute("BEGIN IMMEDIATE")
        for indicator_rows, sighting_rows in chunks[batch_start : batch_start + BATCH // CHUNK]:
            connection.execute(
                "INSERT OR ROLLBACK INTO main.indicators SELECT * FROM replayed.indicators "
                "WHERE rowid BETWEEN ? AND ?",
                indicator_rows,
            )
            connection.execute(
                "INSERT OR ROLLBACK INTO main.sightings SELECT * FROM replayed.sightings "
                "WHERE rowid BETWEEN ? AND ?",
                sighting_rows,
            )
        connection.execute("COMMIT")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    for table in TABLES:  # a replay that lost rows would measure less work than the writer did
        stored, copied = (
            connection.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()[0]
            for schema in ("main", "replayed")
        )
        if stored != copied:
            raise SystemExit(f"the replay stored {stored:,} {table} rows of {copied:,}")
    pooled.close()
    engine.dispose()
    return wall, cpu


def _chunks(connection: sqlite3.Connection) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The rowid ranges of each chunk's indicators and of their sightings (worked out before the
    clock starts)."""
    last = connection.execute("SELECT max(rowid) FROM replayed.indicators").fetchone()[0] or 0
    chunks = []
    for start in range(1, last + 1, CHUNK):
        indicator_rows = (start, min(start + CHUNK - 1, last))
        low, high = connection.execute(
            "SELECT min(pk), max(pk) FROM replayed.indicators WHERE rowid BETWEEN ? AND ?", indicator_rows
        ).fetchone()
        first, final = connection.execute(
            "SELECT min(rowid), max(rowid) FROM replayed.sightings WHERE indicator_pk BETWEEN ? AND ?",
            (low, high),
        ).fetchone()
        chunks.append((indicator_rows, (first or 0, final or -1)))
    return chunks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--each-index", action="store_true", help="also replay without each index")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="iocfeed-floor-") as tmp:
        work = Path(tmp)
        feed, written, rows = work / "feed.csv", work / "written.db", work / "rows.db"
        generate(feed, args.rows)
        ingest_wall, ingest_cpu = ingest(feed, written, work / "home")
        count = copy_rows(written, rows)
        variants: list[str | None] = [None]
        if args.each_index:  # and the whole schema again at the end: how far the host drifted
            variants += [*secondary_indexes(written), None]
        print(f"{count:,} indicators and their sightings, replayed by SQLite alone:\n")
        print("| indexes | seconds | CPU seconds | rows/s |")
        print("|---|---:|---:|---:|")
        print(
            f"| (the ingest itself, the whole pipeline) | {ingest_wall:.1f} | {ingest_cpu:.1f} | "
            f"{count / ingest_wall:,.0f} |",
            flush=True,
        )
        for number, without in enumerate(variants):
            target = work / f"replay-{number}.db"
            wall, cpu = replay(written, rows, target, without)
            label = f"all but {without}" if without else "all (as shipped)"
            print(f"| {label} | {wall:.1f} | {cpu:.1f} | {count / wall:,.0f} |", flush=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
