"""Server time of the web console's page loads on the benchmark store.

    .venv/bin/python -m benchmarks.ui_bench [--indicators 1000000] [--backend sqlite|postgresql]

Each console page is a few API requests made by its script; a page's server time is the sum of
its requests' times, measured from a client on loopback against a live `iocfeed serve` (one
worker) over the store api_bench generates (benchmarks/out/, generated on first use). For every
page it prints the first load after the server started (cold: counts, caches and the page cache
empty of that query) and the median of 20 warm loads. The issue's bound is 200 ms a page.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from benchmarks.api_bench import OUT, bench_key, free_port, prepare_store, server_env, start, stop

WARM_LOADS = 20


def pages(client: httpx.Client) -> dict[str, list[str]]:
    """The requests each page makes, as the console's scripts make them."""
    sample = client.get("/api/v1/iocs", params={"limit": 1, "type": "url"}).json()["data"][0]
    keys = client.get("/api/v1/keys").json()["data"]
    return {
        "feed (default filters, 50 rows)": ["/ui/session", "/api/v1/iocs?limit=50"],
        "feed filtered (type, category, industry)": [
            "/api/v1/iocs?type=ipv4,domain&category=government&industry=energy&limit=50"
        ],
        "feed, second page (cursor)": ["NEXT:/api/v1/iocs?limit=50"],
        "indicator page": [
            f"/api/v1/iocs/{sample['id']}",
            f"/api/v1/lookup?value={quote(sample['value'], safe='')}",
        ],
        "lookup of an unknown value": ["/api/v1/lookup?value=hxxp://never-reported-host[.]example[.]com/x"],
        "sources (feeds + sparklines)": ["/api/v1/feeds", "/ui/feeds/sparklines.svg?days=30"],
        "keys (list + session + one key's usage)": [
            "/ui/session",
            "/api/v1/keys",
            f"/api/v1/keys/{keys[0]['id']}/usage?days=14",
        ],
    }


def load(client: httpx.Client, paths: list[str]) -> float:
    """Milliseconds of server time for one page load (the requests run one after another)."""
    total = 0.0
    for path in paths:
        if path.startswith("NEXT:"):
            first = client.get(path[5:]).json()
            path = first["links"]["next"]
        started = time.perf_counter()
        response = client.get(path)
        total += (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--indicators", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    url, _ = prepare_store(args.backend, args.indicators)
    home = OUT / f"home-{args.backend}-{args.indicators}"
    key, _ = bench_key(url, home)
    env = server_env(url, home)
    port = free_port()
    server = start([str(Path(sys.executable).parent / "iocfeed"), "serve", "--port", str(port)], env, port)
    rows = []
    try:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as client:
            for name, paths in pages(client).items():
                cold = load(client, paths)
                warm = statistics.median(load(client, paths) for _ in range(WARM_LOADS))
                rows.append(f"| {name} | {len(paths)} | {cold:.1f} | {warm:.1f} |")
    finally:
        stop(server)
    print(
        f"### console page loads, {args.backend}, {args.indicators:,} indicators (ms to answer on loopback)\n"
    )
    print("| page | requests | first load | warm (median of 20) |")
    print("|---|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
