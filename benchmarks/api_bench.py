"""The API under load: a fixed mix of realistic queries against a generated store, from wrk on
loopback, one API worker on one core and the load generator on the other.

    make bench                                   # 1M indicators on SQLite and on PostgreSQL
    .venv/bin/python benchmarks/api_bench.py --indicators 1000000 --backends sqlite postgresql [--with-10m]

Prints req/s and p50/p95/p99 latency per query group, the server's peak memory, and the bare
reference's throughput (benchmarks/reference_app.py: Starlette + orjson, the same SQL) for the same
requests. Needs `wrk` (Debian: apt-get install wrk). Stores are generated once into
benchmarks/out/ and reused (delete them to regenerate).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from benchmarks.generate_store import generate
from iocfeed.api.cursor import filters_digest, make_cursor
from iocfeed.config import Settings, load_tiers
from iocfeed.keyring import Keyring, load_or_create_secret
from iocfeed.keys import mint_key
from iocfeed.store.accounts import create_account, find_account
from iocfeed.store.engine import make_engine
from iocfeed.store.migrate import upgrade

OUT = Path(__file__).parent / "out"
POSTGRES_ADMIN = os.environ.get(
    "IOCFEED_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
)
DURATION = int(os.environ.get("IOCFEED_BENCH_SECONDS", "10"))
CONNECTIONS = 8
WRK_SCRIPT = """
local paths = {%s}
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1], {["X-API-Key"] = "%s"})
end
done = function(summary, latency, requests)
  io.write(string.format('RESULT {"requests": %%d, "seconds": %%f, "p50": %%d, "p95": %%d, "p99": %%d, "errors": %%d, "non2xx": %%d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status))
end
"""


@dataclass
class Group:
    name: str
    paths: list[str]
    floor: str = ""
    # Concurrent connections. Small pages: 8, to saturate the one worker (throughput). Large pages:
    # one client at a time, so the latency is the time a page takes, not a queue of 8 of them.
    connections: int = CONNECTIONS


def groups(
    cursor_at_end: str, cursor_at_start: str, since_recent: str, count: int = 1_000_000
) -> list[Group]:
    delta = f"{count / 1e6:g}M-row delta"
    q = "/api/v1/iocs?"
    single = [
        f"{q}type=ipv4&limit=100",
        f"{q}type=url&limit=100",
        f"{q}confidence=high&limit=100",
        f"{q}category=government&limit=100",
        f"{q}industry=energy&limit=100",
        f"{q}min_confidence=medium&limit=100",
        f"{q}status=expired&limit=100",
        f"{q}sort=-first_seen&limit=100",
        f"{q}since={since_recent}&limit=100",
    ]
    combined = [
        f"{q}type=ipv4&confidence=high&category=government&limit=100",
        f"{q}type=domain,url&industry=financial-services&limit=100",
        f"{q}category=commercial,community&min_confidence=medium&industry=healthcare&limit=100",
        f"{q}type=sha256&status=all&sort=last_seen&limit=100",
    ]
    return [
        Group(
            "seed example (type=ipv4&confidence=high&limit=100)",
            [f"{q}type=ipv4&confidence=high&limit=100"],
            ">= 1,500 req/s, p99 <= 25 ms",
        ),
        Group("any single filter, limit=100 (9 kinds)", single, ">= 1,500 req/s, p99 <= 25 ms"),
        Group("combined filters, limit=100 (4 kinds)", combined, "p99 <= 50 ms"),
        Group("delta poll (since=1 h ago, status=all)", [f"{q}since={since_recent}&status=all&limit=1000"]),
        Group(
            f"cursor page at the start of a {delta}",
            [f"{q}status=all&sort=updated_at&limit=100&cursor={cursor_at_start}"],
        ),
        Group(
            f"cursor page at the end of a {delta}",
            [f"{q}status=all&sort=updated_at&limit=100&cursor={cursor_at_end}"],
            "as fast as at the start",
        ),
        Group("csv and txt, limit=100", [f"{q}format=csv&limit=100", f"{q}format=txt&type=ipv4&limit=100"]),
        Group("10,000-row pro page (json), one client", [f"{q}limit=10000"], "<= 150 ms", 1),
        Group("10,000-row pro page (csv), one client", [f"{q}format=csv&limit=10000"], "<= 150 ms", 1),
        Group("10,000-row pro pages (json), 8 clients at once", [f"{q}limit=10000"]),
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_store(backend: str, count: int) -> tuple[str, float | None]:
    """(database URL, generation seconds or None when reused)."""
    OUT.mkdir(exist_ok=True)
    if backend == "sqlite":
        path = OUT / f"store-{count}.db"
        url = f"sqlite:///{path}"
        if path.exists():
            return url, None
    else:
        name = f"iocfeed_bench_{count}"
        admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(POSTGRES_ADMIN).set(database=name).render_as_string(hide_password=False)
        if exists:
            engine = create_engine(url)
            with engine.connect() as connection:
                have = connection.execute(text("SELECT count(*) FROM indicators")).scalar()
            engine.dispose()
            if have == count:
                return url, None
    started = time.perf_counter()
    generate(url, count)
    return url, time.perf_counter() - started


def bench_key(url: str, home: Path) -> tuple[str, Keyring]:
    engine = make_engine(url)
    upgrade(engine)  # a store generated by an older iocfeed gets this one's indexes
    engine.dispose()
    settings = Settings(home=home, database_url=url)
    settings.ensure_home()
    keyring = Keyring(load_or_create_secret(settings.secret_path))
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            account = find_account(connection, "bench")
    except Exception:
        account = create_account(engine, "bench", "internal")
    key = mint_key(engine, keyring, load_tiers(None), account, name=f"bench-{secrets.token_hex(3)}").key
    engine.dispose()
    return key, keyring


def cursors(url: str, keyring: Keyring) -> tuple[str, str]:
    """Signed cursors for `status=all&sort=updated_at` at the first and the last 100 rows."""
    engine = make_engine(url)
    with engine.connect() as connection:
        first = connection.execute(
            text("SELECT updated_at, pk FROM indicators ORDER BY updated_at, pk LIMIT 1 OFFSET 100")
        ).one()
        last = connection.execute(
            text("SELECT updated_at, pk FROM indicators ORDER BY updated_at DESC, pk DESC LIMIT 1 OFFSET 150")
        ).one()
    engine.dispose()
    digest = filters_digest((None, None, None, None, None, None, "updated_at", False))
    return (
        make_cursor(keyring, "updated_at", last[0], last[1], digest),
        make_cursor(keyring, "updated_at", first[0], first[1], digest),
    )


def start(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        ["taskset", "-c", "0", *command], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    for _ in range(200):
        try:
            httpx.get(
                f"http://127.0.0.1:{port}/healthz"
                if "iocfeed" in command[0]
                else f"http://127.0.0.1:{port}/",
                timeout=0.5,
            )
            return process
        except httpx.HTTPError:
            if process.poll() is not None:
                raise SystemExit(process.stderr.read().decode()[-2000:]) from None  # type: ignore[union-attr]
            time.sleep(0.1)
    raise SystemExit("server did not start")


def wrk(
    port: int, key: str, paths: list[str], seconds: int = DURATION, connections: int = CONNECTIONS
) -> dict:
    script = OUT / "mix.lua"
    script.write_text(WRK_SCRIPT % (", ".join(json.dumps(p) for p in paths), key))
    # Warm caches (counts per data version, the page cache) before measuring.
    for path in paths:
        httpx.get(f"http://127.0.0.1:{port}{path}", headers={"X-API-Key": key}, timeout=120)
    completed = subprocess.run(
        [
            "taskset",
            "-c",
            "1",
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(row for row in completed.stdout.splitlines() if row.startswith("RESULT "))
    figures = json.loads(line[7:])
    figures["rps"] = figures["requests"] / figures["seconds"]
    return figures


def peak_rss_mb(pid: int) -> float:
    peaks = []
    for child in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{child}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        except OSError:
            pass
    return max(peaks, default=0.0)


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def server_env(url: str, home: Path) -> dict[str, str]:
    """The environment of a benchmarked `iocfeed serve`: this store and home, quiet logs, and the
    in-process rate limiter (no Redis round trips in the figures)."""
    env = {
        **os.environ,
        "IOCFEED_HOME": str(home),
        "IOCFEED_DATABASE_URL": url,
        "IOCFEED_LOG_LEVEL": "WARNING",
    }
    env.pop("IOCFEED_REDIS_URL", None)
    return env


def run_backend(backend: str, count: int) -> list[str]:
    url, generated = prepare_store(backend, count)
    home = OUT / f"home-{backend}-{count}"
    key, keyring = bench_key(url, home)
    end_cursor, start_cursor = cursors(url, keyring)
    since_recent = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    env = server_env(url, home)
    port = free_port()
    iocfeed_bin = str(Path(sys.executable).parent / "iocfeed")
    server = start([iocfeed_bin, "serve", "--port", str(port), "--workers", "1"], env, port)
    lines = [
        f"\n### {backend}, {count:,} indicators"
        + (f" (generated in {generated:.0f} s)" if generated else ""),
        "",
        "| query group | req/s | p50 ms | p95 ms | p99 ms | errors | floor |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    results = {}
    try:
        for group in groups(end_cursor, start_cursor, since_recent, count):
            figures = wrk(port, key, group.paths, connections=group.connections)
            results[group.name] = figures
            lines.append(
                f"| {group.name} | {figures['rps']:,.0f} | {figures['p50'] / 1000:.1f} | {figures['p95'] / 1000:.1f} | "
                f"{figures['p99'] / 1000:.1f} | {figures['errors'] + figures['non2xx']} | {group.floor} |"
            )
            print(lines[-1], flush=True)
        lines.append(f"\nServer peak RSS: {peak_rss_mb(server.pid):.0f} MB")
    finally:
        stop(server)
    reference = reference_run(url, key, groups(end_cursor, start_cursor, since_recent, count)[:2], env)
    for name, figures in reference.items():
        ours = results[name]["rps"]
        lines.append(
            f"Bare reference (Starlette + orjson, same SQL), {name}: {figures['rps']:,.0f} req/s, "
            f"p99 {figures['p99'] / 1000:.1f} ms; iocfeed = {100 * ours / figures['rps']:.0f}% of it"
        )
    return lines


def reference_run(url: str, key: str, chosen: list[Group], env: dict[str, str]) -> dict[str, dict]:
    port = free_port()
    env = {
        **env,
        "IOCFEED_BENCH_DATABASE_URL": url,
        "IOCFEED_BENCH_KEY": key,
        "PYTHONPATH": str(Path(__file__).parent.parent),
    }
    uvicorn = str(Path(sys.executable).parent / "uvicorn")
    server = start(
        [
            uvicorn,
            "benchmarks.reference_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env,
        port,
    )
    try:
        return {group.name: wrk(port, key, group.paths) for group in chosen}
    finally:
        stop(server)


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--indicators", type=int, default=1_000_000)
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--with-10m", action="store_true", help="also 10M indicators on PostgreSQL")
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        raise SystemExit("api_bench needs wrk and taskset (Debian: apt-get install wrk util-linux)")
    report = [
        f"# iocfeed API benchmark ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
        f"wrk -t1 -c{CONNECTIONS} -d{DURATION}s, one API worker)"
    ]
    for backend in args.backends:
        report += run_backend(backend, args.indicators)
    if args.with_10m:
        report += run_backend("postgresql", 10_000_000)
    text_ = "\n".join(report) + "\n"
    (OUT / "api_bench.md").write_text(text_)
    print(text_)


if __name__ == "__main__":
    main()
