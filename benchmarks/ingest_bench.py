"""End-to-end ingest throughput and peak memory for a generated CSV feed, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/ingest_bench.py [--rows 1000000] [--backend sqlite|postgresql|both]
                                                [--batch-size N]

Generates a URLhaus-shaped CSV (urls, ipv4 and sha256 mixed, with dates, tags and context), then
runs it through the real path a scheduled source takes (catalog entry -> fetch of a file:// URL ->
CSV reader -> canonicalize -> screen -> store) into a fresh database, in a child process whose peak
RSS is measured (the ingest's own threads included; it starts no other process), with the child's
CPU time (setup included) and the bytes it wrote (Linux: /proc/self/io). On SQLite that is the
WAL, checkpoints and any statement journal, so write amplification shows; on PostgreSQL the server
writes, in its own processes. Prints one Markdown row per backend; a run that does not ingest every
row stops the benchmark with its message. --batch-size overrides Settings.batch_size (default: the
setting's default). PostgreSQL: IOCFEED_BENCH_POSTGRES_URL (default: the local server), a
throwaway database created and dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POSTGRES_ADMIN = os.environ.get(
    "IOCFEED_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
)


def generate(path: Path, rows: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    threats = ["malware_download", "phishing", "botnet_cc"]
    tags = ["elf,mirai", "exe,AsyncRAT", "zip,Lumma", "doc,Emotet", "js,SocGholish"]
    tlds = ["com", "net", "top", "xyz", "online", "site", "ru", "info"]
    with path.open("w", encoding="utf-8") as out:
        out.write("value,type,first_seen,tags,context\n")
        for i in range(rows):
            kind = i % 3
            if kind == 0:
                host = (
                    f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
                )
                out.write(f"{host},ipv4,")
            elif kind == 1:
                out.write(f"http://dl-{i:x}.cdn-{rng.randint(0, 99999)}.{rng.choice(tlds)}/p/{i}.bin,url,")
            else:
                out.write(f"{rng.getrandbits(256):064x},sha256,")
            day = rng.randint(1, 28)
            out.write(
                f'2026-11-{day:02d} {rng.randint(0, 23):02d}:00:00,"{rng.choice(tags)}",{rng.choice(threats)}\n'
            )


CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path
from iocfeed.config import Settings
from iocfeed.ingest import Ingestor
from iocfeed.indicators.screen import Screener
from iocfeed.sources.catalog import load_catalog
from iocfeed.store.engine import make_engine
from iocfeed.store.migrate import upgrade

feed, url, home, catalog, batch_size = sys.argv[1:6]
overrides = {"batch_size": int(batch_size)} if int(batch_size) else {}
settings = Settings(home=Path(home), database_url=url, **overrides)
engine = make_engine(url)
upgrade(engine)
definition = load_catalog(Path(catalog), include_bundled=False)[0]
ingestor = Ingestor(engine, settings, {}, screener=Screener.default())
start = time.perf_counter()
outcome = ingestor.run(definition)
seconds = time.perf_counter() - start
result = outcome.result
usage = resource.getrusage(resource.RUSAGE_SELF)
try:  # bytes the process handed to write(2) and pwrite(2), journals and WAL included (Linux)
    with open("/proc/self/io") as io:
        written = int(dict(line.split(": ") for line in io.read().splitlines())["wchar"]) / 1e6
except OSError:
    written = None
print(json.dumps({"status": outcome.status, "message": outcome.message, "seconds": seconds,
                  "accepted": result.accepted if result else 0, "batch_size": settings.batch_size,
                  "peak_rss_mb": usage.ru_maxrss / 1024, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                  "written_mb": written}))
"""


def run_backend(backend: str, feed: Path, work: Path, batch_size: int = 0) -> dict:
    admin = None
    name = None
    if backend == "sqlite":
        url = f"sqlite:///{work / 'bench.db'}"
    else:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
        name = f"iocfeed_bench_{secrets.token_hex(4)}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(POSTGRES_ADMIN).set(database=name).render_as_string(hide_password=False)
    catalog = work / f"catalog-{backend}.toml"
    catalog.write_text(
        f'[[source]]\nname = "Bench"\ncategory = "community"\nurl = "{feed.as_uri()}"\nformat = "csv"\n'
    )
    try:
        completed = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD,
                str(feed),
                url,
                str(work / f"home-{backend}"),
                str(catalog),
                str(batch_size),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise SystemExit(completed.stderr[-3000:])
        figures = json.loads(completed.stdout.strip().splitlines()[-1])
        if figures["status"] != "ingested":
            raise SystemExit(f"{backend}: {figures['status']}: {figures['message']}")
        return figures
    finally:
        if admin is not None:
            from sqlalchemy import text

            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--batch-size", type=int, default=0, help="Settings.batch_size (0: its default)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="iocfeed-bench-") as tmp:
        work = Path(tmp)
        feed = work / "feed.csv"
        started = time.perf_counter()
        generate(feed, args.rows)
        print(
            f"generated {args.rows:,} rows ({feed.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
        print(
            "| backend | rows | batch | seconds | indicators/s | peak RSS (MB) | CPU seconds | written (MB) |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for backend in backends:
            figures = run_backend(backend, feed, work, args.batch_size)
            rate = figures["accepted"] / figures["seconds"]
            written = "-" if figures["written_mb"] is None else f"{figures['written_mb']:,.0f}"
            print(
                f"| {backend} | {figures['accepted']:,} | {figures['batch_size']:,} | {figures['seconds']:.1f} | "
                f"{rate:,.0f} | {figures['peak_rss_mb']:.0f} | {figures['cpu_seconds']:.1f} | {written} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
