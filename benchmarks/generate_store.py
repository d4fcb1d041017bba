"""Generate a realistic iocfeed store of N indicators, fast, straight into the schema.

    .venv/bin/python benchmarks/generate_store.py --url sqlite:////tmp/bench.db --indicators 1000000
    .venv/bin/python benchmarks/generate_store.py --url postgresql+psycopg://root@127.0.0.1/bench --indicators 10000000

Bypasses the ingest pipeline on purpose (its speed is measured by ingest_bench.py): rows are
computed here with the same derivation rules (scores, bands, best source per category, masks) and
written with executemany (SQLite) or COPY (PostgreSQL). The shape follows real feeds: a type mix
dominated by IPs and URLs, sources of every category with their reliabilities, 30% of indicators
corroborated by a second or third source, 40% tagged with one or two sectors, first/last seen spread
over a year, updated_at in write batches of 5,000 like the real single writer, and a status mix of
mostly active with expired, false-positive and revoked ones.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid

from sqlalchemy import text
from sqlalchemy.engine import make_url

from iocfeed.scoring import band, decayed_score
from iocfeed.sectors import SECTORS, sectors_mask
from iocfeed.store.codes import CATEGORY_BITS
from iocfeed.store.counts import GROUP_COLUMNS as COUNT_GROUP_COLUMNS
from iocfeed.store.engine import make_engine
from iocfeed.store.migrate import upgrade
from iocfeed.store.upsert import INDICATOR_COLUMNS, INDICATOR_NAMESPACE
from iocfeed.timeutil import MICROS_PER_DAY, now_us

TYPE_MIX = [
    ("ipv4", 30),
    ("url", 25),
    ("domain", 15),
    ("sha256", 12),
    ("md5", 8),
    ("sha1", 4),
    ("ipv6", 2),
    ("email", 2),
    ("cve", 1),
    ("mitre-attack", 0.5),
    ("sha512", 0.5),
]
SOURCES = [  # name, category, reliability
    ("CISA Alerts", "government", 90),
    ("CISA KEV", "government", 95),
    ("FBI FLASH", "government", 90),
    ("CIRCL OSINT", "government", 80),
    ("NCSC Advisories", "government", 85),
    ("Vendor Intel A", "commercial", 80),
    ("Vendor Intel B", "commercial", 75),
    ("Emerging Threats", "commercial", 45),
    ("Unit 42", "commercial", 80),
    ("Cisco Talos", "commercial", 80),
    ("URLhaus", "community", 75),
    ("Feodo Tracker", "community", 85),
    ("ThreatFox", "community", 70),
    ("MalwareBazaar", "community", 80),
    ("OpenPhish", "community", 65),
    ("AlienVault OTX", "community", 60),
    ("SANS ISC", "community", 65),
    ("Community Blocklist", "community", 50),
]
TAGS = [
    "c2",
    "botnet",
    "phishing",
    "ransomware",
    "stealer",
    "loader",
    "mirai",
    "cobaltstrike",
    "apt",
    "scanner",
]
ATTACK = ["T1071.001", "T1059.001", "T1566.001", "T1190", "T1105", "T1486", "T1027", "T1547.001"]
BATCH_CLOCK = 5_000
_CATEGORY_COLUMN = {"government": 1, "commercial": 2, "community": 3}  # index in the best-sighting tuple


def value_for(kind: str, i: int, rng: random.Random) -> str:
    if kind == "ipv4":
        return f"{11 + i % 200}.{(i >> 8) % 256}.{(i >> 16) % 256}.{i % 256}"
    if kind == "ipv6":
        return f"2a0{i % 10}:{(i >> 16) & 0xFFFF:x}:{i & 0xFFFF:x}::{rng.randint(1, 0xFFFF):x}"
    if kind == "domain":
        return (
            f"{'abcdefghijklmnop'[i % 16]}{i:x}-update.{('com', 'net', 'top', 'xyz', 'online', 'ru')[i % 6]}"
        )
    if kind == "url":
        return f"http://cdn{i % 9973}.dl-{i:x}.{('com', 'net', 'top', 'site')[i % 4]}/p/{i:x}.bin"
    if kind == "email":
        return f"billing{i:x}@invoice-{i % 997}.com"
    if kind == "cve":
        return f"CVE-{2015 + i % 11}-{10000 + i}"
    if kind == "mitre-attack":
        return f"T{1000 + i % 9000}.{i // 9000:03d}"  # unique, shaped like sub-techniques
    width = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}[kind]
    return f"{i:0{width}x}"[-width:]


def generate(url: str, count: int, seed: int = 7) -> dict[str, float]:
    rng = random.Random(seed)
    engine = make_engine(url)
    upgrade(engine)
    now = now_us()
    started = time.perf_counter()
    kinds = [k for k, _ in TYPE_MIX]
    weights = [w for _, w in TYPE_MIX]
    ordinal = dict.fromkeys(kinds, 0)
    source_rows = [
        {
            "id": n,
            "name": name,
            "category": cat,
            "reliability": rel,
            "origin": "feed",
            "created_at": now - 400 * MICROS_PER_DAY,
            "health": "healthy",
            "enabled": True,
        }
        for n, (name, cat, rel) in enumerate(SOURCES, start=1)
    ]
    indicators: list[tuple] = []
    sightings: list[tuple] = []
    sighting_pk = 0
    clock = now - 365 * MICROS_PER_DAY
    step = (365 * MICROS_PER_DAY) // max(1, count // BATCH_CLOCK)
    writer = _Writer(engine)
    writer.begin(source_rows)
    for pk in range(1, count + 1):
        if pk % BATCH_CLOCK == 1:
            clock += step
        kind = rng.choices(kinds, weights)[0]
        ordinal[kind] += 1
        value = value_for(kind, ordinal[kind], rng)
        n_sources = 1 if rng.random() < 0.7 else (2 if rng.random() < 0.75 else 3)
        chosen = rng.sample(source_rows, n_sources)
        first_seen = clock - rng.randint(0, 30) * MICROS_PER_DAY
        last_seen = min(clock, first_seen + rng.randint(0, 20) * MICROS_PER_DAY)
        reliabilities = sorted((s["reliability"] for s in chosen), reverse=True)
        base = float(reliabilities[0])
        for r in reliabilities[1:]:
            base += (100.0 - base) * r / 100.0 * 0.5
        score = decayed_score(kind, base, last_seen, now)
        roll = rng.random()
        status = (
            "active"
            if roll < 0.85
            else "expired"
            if roll < 0.95
            else "false-positive"
            if roll < 0.99
            else "revoked"
        )
        sectors = rng.sample(SECTORS, rng.choice((1, 1, 2))) if rng.random() < 0.4 else []
        tags = sorted(rng.sample(TAGS, rng.choice((0, 1, 1, 2))))
        attack = sorted(rng.sample(ATTACK, 1)) if rng.random() < 0.1 else []
        best = [None, None, None, None]  # overall, government, commercial, community
        best_rank = [(-1, 0)] * 4
        categories = 0
        for source in chosen:
            sighting_pk += 1
            sightings.append(
                (sighting_pk, pk, source["id"], first_seen, last_seen, value, "[]", "[]", "[]", clock, clock)
            )
            categories |= CATEGORY_BITS[source["category"]]
            for slot in (0, _CATEGORY_COLUMN[source["category"]]):
                rank = (source["reliability"], -sighting_pk)
                if rank > best_rank[slot]:
                    best_rank[slot], best[slot] = rank, sighting_pk
        indicators.append(
            (
                pk,
                str(uuid.uuid5(INDICATOR_NAMESPACE, f"{kind}|{value}")),
                kind,
                value,
                status,
                "screened by a warning list" if status == "false-positive" else None,
                base,
                score,
                band(score),
                first_seen,
                last_seen,
                clock,
                clock,
                n_sources,
                categories,
                sectors_mask(sectors),
                _json(sectors),
                _json(tags),
                _json(attack),
                None,
                *best,
            )
        )
        if len(indicators) >= 50_000:
            writer.write(indicators, sightings)
            indicators, sightings = [], []
            print(f"\r{pk:,} / {count:,}", end="", file=sys.stderr, flush=True)
    writer.write(indicators, sightings)
    writer.finish(clock)
    print(file=sys.stderr)
    engine.dispose()
    return {"seconds": time.perf_counter() - started, "indicators": count, "sightings": sighting_pk}


def _json(items: list[str]) -> str:
    return "[" + ",".join(f'"{item}"' for item in items) + "]"


SIGHTING_COLUMNS = (
    "pk",
    "indicator_pk",
    "source_id",
    "first_seen",
    "last_seen",
    "raw_value",
    "tags",
    "industries",
    "mitre_techniques",
    "created_at",
    "updated_at",
)


class _Writer:
    """executemany for SQLite, COPY for PostgreSQL; sources first, clock last."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self.raw = engine.raw_connection()
        self.dropped_indexes: list = []
        self.cursor = self.raw.cursor()
        if not self.postgres:
            self.cursor.execute("PRAGMA synchronous=OFF")

    def begin(self, source_rows: list[dict]) -> None:
        with self.engine.begin() as connection:
            if self.postgres:  # the count triggers fire per row; for a bulk load, recount once at the end
                connection.execute(text("ALTER TABLE indicators DISABLE TRIGGER USER"))
                # Index maintenance row by row outgrows shared_buffers past a few million rows (10M:
                # 30+ minutes); building each index once, sorted, at the end takes a few. The
                # indexes behind constraints (keys, uniques) stay: COPY relies on them.
                self.dropped_indexes = connection.execute(
                    text(
                        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('indicators', 'sightings') "
                        "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
                    )
                ).all()
                for name, _ in self.dropped_indexes:
                    connection.execute(text(f'DROP INDEX "{name}"'))
            connection.execute(text("DELETE FROM sightings"))
            connection.execute(text("DELETE FROM indicators"))
            connection.execute(text("DELETE FROM indicator_counts"))
            connection.execute(text("DELETE FROM sources"))
            for row in source_rows:
                connection.execute(
                    text(
                        "INSERT INTO sources (id, name, category, reliability, origin, created_at, health, enabled, "
                        "consecutive_failures, indicator_count) VALUES (:id, :name, :category, :reliability, :origin, "
                        ":created_at, :health, :enabled, 0, 0)"
                    ),
                    row,
                )

    def write(self, indicators: list[tuple], sightings: list[tuple]) -> None:
        if not indicators:
            return
        if self.postgres:
            self._copy("indicators", INDICATOR_COLUMNS, indicators)
            self._copy("sightings", SIGHTING_COLUMNS, sightings)
        else:
            if not self.raw.in_transaction:
                self.cursor.execute("BEGIN")
            marks = ",".join("?" * len(INDICATOR_COLUMNS))
            self.cursor.executemany(
                f"INSERT INTO indicators ({','.join(INDICATOR_COLUMNS)}) VALUES ({marks})", indicators
            )
            marks = ",".join("?" * len(SIGHTING_COLUMNS))
            self.cursor.executemany(
                f"INSERT INTO sightings ({','.join(SIGHTING_COLUMNS)}) VALUES ({marks})", sightings
            )
            self.cursor.execute("COMMIT")

    def _copy(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        with self.cursor.copy(f"COPY {table} ({','.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        self.raw.commit()

    def finish(self, clock: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(text("UPDATE sync_state SET clock = :clock WHERE id = 1"), {"clock": clock})
            connection.execute(
                text(
                    "UPDATE sources SET indicator_count = (SELECT count(*) FROM sightings s WHERE s.source_id = sources.id)"
                )
            )
            # Rows went in around the count triggers (disabled here; on SQLite the batch writer
            # counts inserts, and this is not it): count once.
            group = ", ".join(COUNT_GROUP_COLUMNS)
            connection.execute(text("DELETE FROM indicator_counts"))
            connection.execute(
                text(
                    f"INSERT INTO indicator_counts ({group}, n) SELECT {group}, count(*) FROM indicators GROUP BY {group}"
                )
            )
            if self.postgres:
                connection.execute(text("ALTER TABLE indicators ENABLE TRIGGER USER"))
                connection.execute(text("SET maintenance_work_mem = '512MB'"))
                for _, definition in self.dropped_indexes:
                    connection.execute(text(definition))
                connection.execute(
                    text(
                        "SELECT setval(pg_get_serial_sequence('indicators', 'pk'), "
                        "(SELECT max(pk) FROM indicators))"
                    )
                )
                connection.execute(
                    text(
                        "SELECT setval(pg_get_serial_sequence('sightings', 'pk'), "
                        "(SELECT max(pk) FROM sightings))"
                    )
                )
                connection.execute(text("ANALYZE"))
            else:
                connection.execute(text("ANALYZE"))
        self.raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--indicators", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    figures = generate(args.url, args.indicators, args.seed)
    print(
        f"generated {figures['indicators']:,} indicators and {figures['sightings']:,} sightings "
        f"into {make_url(args.url).get_backend_name()} in {figures['seconds']:.1f} s"
    )


if __name__ == "__main__":
    main()
