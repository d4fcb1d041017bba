"""Export throughput and peak memory: STIX 2.1 and CSV over a 100k-indicator store.

    .venv/bin/python benchmarks/export_bench.py [--indicators 100000] [--backend sqlite|postgresql]

Builds a store through the store's own write path (write_batch + upsert_observations, 5,000
observations a batch; canonical values are generated, so the pipeline's parsing is not measured
here: ingest_bench.py does that), then asks the real app for the exports, driving its ASGI
interface directly and dropping each body chunk as it arrives (a test client would buffer the whole
body and measure itself):

- STIX: one `GET /api/v1/iocs/stix?limit=N` response, streamed (key of the internal tier, whose
  export cap is 1,000,000; pro's is 100,000).
- CSV: the list endpoint with `format=csv` caps a page at 10,000 rows, so N rows are N / 10,000
  requests following the cursor (each page is built whole; that is the list's design).

Throughput comes from an untraced run; peak memory is tracemalloc's peak of Python allocations
during a second, traced run, at N / 4 and at N (flat means the export streams). Prints a Markdown
table. PostgreSQL: IOCFEED_BENCH_POSTGRES_URL (default: the local server), a throwaway database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from iocfeed.api.app import create_app
from iocfeed.config import Settings, load_tiers
from iocfeed.keyring import Keyring, load_or_create_secret
from iocfeed.keys import mint_key
from iocfeed.store.accounts import create_account
from iocfeed.store.catalog import SourceSpec, ensure_source
from iocfeed.store.engine import make_engine
from iocfeed.store.migrate import upgrade
from iocfeed.store.upsert import Observation, upsert_observations
from iocfeed.store.writer import write_batch
from iocfeed.timeutil import MICROS_PER_DAY, now_us

POSTGRES_ADMIN = os.environ.get(
    "IOCFEED_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
)
BATCH = 5_000
CSV_PAGE = 10_000


def observation(i: int) -> Observation:
    """A canonical value of a realistic type mix (IPs, URLs, domains, hashes, a few CVEs)."""
    kind = ("ipv4", "url", "domain", "sha256", "ipv4", "url", "md5", "email", "sha1", "cve")[i % 10]
    value = {
        "ipv4": f"{11 + i % 200}.{(i >> 8) % 256}.{(i >> 16) % 256}.{i % 256}",
        "url": f"http://cdn{i % 9973}.dl-{i:x}.example-bad.com/p/{i:x}.bin?id={i}",
        "domain": f"c2-{i:x}.example-bad.net",
        "sha256": f"{i:064x}",
        "md5": f"{i:032x}",
        "sha1": f"{i:040x}",
        "email": f"billing{i:x}@invoice-fraud.example.org",
        "cve": f"CVE-{2015 + i % 11}-{10000 + i}",
    }[kind]
    return Observation(
        kind, value, value, tags=("c2", "botnet") if i % 3 else ("phishing",),
        mitre_techniques=("T1071.001",) if i % 4 == 0 else (), context=f"bench record {i}",
    )  # fmt: skip


def build_store(url: str, count: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    source, _ = ensure_source(engine, SourceSpec("Bench Feed", "community", 80))
    observed_at = now_us() - MICROS_PER_DAY
    for start in range(0, count, BATCH):
        with write_batch(engine) as batch:
            upsert_observations(
                batch,
                source,
                [observation(i) for i in range(start, min(start + BATCH, count))],
                observed_at=observed_at,
                last_seen_granularity=MICROS_PER_DAY,
            )
    if engine.dialect.name == "postgresql":
        # A table loaded a moment ago has no planner statistics until autovacuum gets to it; a
        # deployed feed has them. Without, keyset pages fall back to sorting (2x slower here).
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
    engine.dispose()


async def _get(app: Any, path: str, query: str, key: str) -> tuple[int, dict[str, str], int]:
    """(status, headers, body bytes) of one GET, each body chunk dropped once counted."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
        "root_path": "", "headers": [(b"host", b"bench"), (b"x-api-key", key.encode())],
        "client": ("127.0.0.1", 50000), "server": ("bench", 80),
    }  # fmt: skip
    done = asyncio.Event()
    started = False
    status, headers, size = 0, {}, 0

    async def receive() -> dict[str, Any]:
        nonlocal started
        if not started:
            started = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()  # stay connected until the body has ended
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers, size
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    await app(scope, receive, send)
    if status != 200:
        raise RuntimeError(f"GET {path}?{query} answered {status}")
    return status, headers, size


def stix_export(app: Any, key: str, count: int) -> tuple[int, int]:
    """(requests, bytes) of one STIX bundle of `count` indicators."""
    _, _, size = asyncio.run(_get(app, "/api/v1/iocs/stix", f"limit={count}", key))
    return 1, size


def csv_export(app: Any, key: str, count: int) -> tuple[int, int]:
    """(requests, bytes) of `count` CSV rows, page by page along the cursor."""
    requests, total, cursor = 0, 0, None
    while requests * CSV_PAGE < count:
        query = f"format=csv&limit={min(CSV_PAGE, count - requests * CSV_PAGE)}"
        if cursor:
            query += f"&cursor={cursor}"
        _, headers, size = asyncio.run(_get(app, "/api/v1/iocs", query, key))
        requests, total = requests + 1, total + size
        cursor = headers.get("x-next-cursor")
        if cursor is None:
            break
    return requests, total


def traced_peak(run: Callable[[], tuple[int, int]]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure(url: str, home: Path, count: int, backend: str) -> list[str]:
    started = time.perf_counter()
    build_store(url, count)
    built = time.perf_counter() - started
    print(f"built {count:,} indicators on {backend} in {built:.1f} s")
    settings = Settings(home=home, database_url=url)
    engine = make_engine(url)
    owner = create_account(engine, "bench", "internal")
    keyring = Keyring(load_or_create_secret(settings.secret_path))
    key = mint_key(engine, keyring, load_tiers(None), owner, name="bench").key
    engine.dispose()
    app = create_app(settings)
    rows = []
    for name, export in (
        ("STIX 2.1 bundle, 1 streamed response", stix_export),
        ("CSV list, cursor pages", csv_export),
    ):
        export(app, key, 1_000)  # warm up: imports, caches, connections
        started = time.perf_counter()
        requests, size = export(app, key, count)
        seconds = time.perf_counter() - started
        quarter = traced_peak(lambda export=export: export(app, key, count // 4))
        full = traced_peak(lambda export=export: export(app, key, count))
        rows.append(
            f"| {name} | {backend} | {count:,} | {requests} | {seconds:.2f} | {count / seconds:,.0f} | "
            f"{size / 1e6:.1f} | {quarter / 1e6:.1f} | {full / 1e6:.1f} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--indicators", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.backend == "sqlite":
            rows = measure(f"sqlite:///{tmp}/bench.db", Path(tmp) / "home", args.indicators, "sqlite")
        else:
            name = f"iocfeed_bench_{secrets.token_hex(4)}"
            admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(POSTGRES_ADMIN).set(database=name).render_as_string(hide_password=False)
            try:
                rows = measure(url, Path(tmp) / "home", args.indicators, "postgresql")
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    quarter = f"{args.indicators // 4:,}"
    print()
    print(
        "| export | backend | indicators | requests | seconds | indicators/s | MB out | "
        f"peak traced MB ({quarter}) | peak traced MB ({args.indicators:,}) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
