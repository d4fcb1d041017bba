"""Screening benchmark: build time and memory of the default screener, then lookups per second per type.

    .venv/bin/python benchmarks/screen_bench.py [--scale 1.0] [--seed 1]

Each build is measured in a fresh interpreter (the compiled lists are cached per process, so a
second build in the same process costs nothing): wall time over several runs, the growth of peak
RSS, and the Python heap held and at its peak (tracemalloc, in a separate run since tracing slows
the build). Lookups run over generated inputs mixing misses with values the lists hold (about
10%); the inputs are canonical, as the pipeline passes them. Prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable

from iocfeed.indicators.screen import Screener
from iocfeed.indicators.screen_index import _read_misp_list

_BUILD_PROBE = """
import json, resource, sys, time, tracemalloc
import iocfeed.indicators.screen as screen
trace = sys.argv[1] == "trace"
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if trace:
    tracemalloc.start()
started = time.perf_counter()
screen.Screener.default()
seconds = time.perf_counter() - started
result = {"seconds": seconds, "rss_growth_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024}
if trace:
    held, peak = tracemalloc.get_traced_memory()
    result |= {"held_mb": held / 1e6, "peak_mb": peak / 1e6}
print(json.dumps(result))
"""


def measure_build(runs: int) -> dict[str, float]:
    def probe(mode: str) -> dict[str, float]:
        output = subprocess.run(
            [sys.executable, "-c", _BUILD_PROBE, mode], check=True, capture_output=True, text=True
        ).stdout
        return json.loads(output)

    timed = [probe("time") for _ in range(runs)]
    traced = probe("trace")
    return {
        "min_s": min(run["seconds"] for run in timed),
        "median_s": statistics.median(run["seconds"] for run in timed),
        "rss_growth_mb": statistics.median(run["rss_growth_mb"] for run in timed),
        "held_mb": traced["held_mb"],
        "peak_mb": traced["peak_mb"],
    }


def public_ipv4(rng: random.Random) -> str:
    return f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def make_inputs(rng: random.Random, scale: float) -> dict[str, tuple[str, list[str]]]:
    """Row label -> (type, canonical values): mostly random (misses), about 10% from the lists."""
    resolvers = list(_read_misp_list("public-dns-v4")[1])
    top = list(_read_misp_list("tranco10k")[1])
    known_hashes = [h for h in _read_misp_list("nioc-filehash")[1] if len(h) == 64]
    special_v4 = ["10.{}.{}.{}", "192.168.{}.{}", "172.16.{}.{}", "100.64.{}.{}", "104.16.{}.{}"]

    def ipv4() -> str:
        pick = rng.random()
        if pick < 0.05:
            return rng.choice(resolvers)
        if pick < 0.10:
            return rng.choice(special_v4).format(*(rng.randrange(256) for _ in range(3)))
        return public_ipv4(rng)

    def ipv6() -> str:
        pick = rng.random()
        if pick < 0.10:
            return (
                rng.choice(["fe80::", "fd00::", "2001:db8::", "2001:4860:4860::"])
                + f"{rng.randrange(1, 65535):x}"
            )
        return f"2a0{rng.randrange(10)}:{rng.randrange(65536):x}:{rng.randrange(65536):x}::{rng.randrange(1, 65536):x}"

    def random_domain() -> str:
        label = (
            "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789-", k=rng.randrange(6, 16))).strip("-")
            or "x"
        )
        return f"{label}.{rng.choice(['com', 'net', 'org', 'ru', 'xyz', 'top', 'co.uk', 'info'])}"

    def domain() -> str:
        pick = rng.random()
        if pick < 0.05:
            return rng.choice(top)
        if pick < 0.10:
            return f"{rng.choice(['www', 'mail', 'cdn', 'api'])}.{rng.choice(top)}"
        return rng.choice(["", "www.", "login.secure."]) + random_domain()

    def url() -> str:
        pick = rng.random()
        if pick < 0.05:
            return f"https://{rng.choice(top)}/"
        if pick < 0.10:
            return f"http://10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}/admin"
        host = rng.choice([random_domain(), "docs.google.com", public_ipv4(rng)])
        return f"https://{host}/{rng.randrange(10**6):x}/login.php?id={rng.randrange(10**6)}"

    def sha256() -> str:
        return rng.choice(known_hashes) if rng.random() < 0.10 else f"{rng.getrandbits(256):064x}"

    def md5() -> str:
        return "d41d8cd98f00b204e9800998ecf8427e" if rng.random() < 0.10 else f"{rng.getrandbits(128):032x}"

    def email() -> str:
        return f"user{rng.randrange(10**6)}@{rng.choice([random_domain(), 'example.com', 'gmail.com'])}"

    sizes = {
        "ipv4": 1_000_000,
        "ipv6": 100_000,
        "domain": 200_000,
        "url": 200_000,
        "md5": 100_000,
        "sha256": 100_000,
        "email": 100_000,
    }
    makers: dict[str, Callable[[], str]] = {
        "ipv4": ipv4,
        "ipv6": ipv6,
        "domain": domain,
        "url": url,
        "md5": md5,
        "sha256": sha256,
        "email": email,
    }
    inputs = {
        kind: (kind, [makers[kind]() for _ in range(max(1, int(size * scale)))])
        for kind, size in sizes.items()
    }
    # Public addresses only: what most of a feed is, and the floor of the per-lookup cost.
    inputs["ipv4 (random only)"] = ("ipv4", [public_ipv4(rng) for _ in range(max(1, int(500_000 * scale)))])
    return inputs


def measure_lookups(
    screener: Screener, inputs: dict[str, tuple[str, list[str]]]
) -> list[tuple[str, int, int, float]]:
    rows = []
    for label, (kind, values) in inputs.items():
        screen = screener.screen
        started = time.perf_counter()
        hits = sum(1 for value in values if screen(kind, value) is not None)
        rows.append((label, len(values), hits, time.perf_counter() - started))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the input sizes (default 1.0)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--build-runs", type=int, default=5)
    args = parser.parse_args()

    build = measure_build(args.build_runs)
    screener = Screener.default()
    print(
        f"## Screening ({platform.python_implementation()} {platform.python_version()}, {platform.machine()})\n"
    )
    calibration = min(timeit.repeat("sum(range(10**6))", number=10, repeat=5)) / 10 * 1000
    print(
        f"CPU calibration: `sum(range(10**6))` takes {calibration:.1f} ms here (a quiet modern core: ~10 ms).\n"
    )
    entries = sum(warning_list.size for warning_list in screener.lists)
    print(f"Default screener: {len(screener.lists)} lists, {entries:,} entries.\n")
    print("| build (fresh process) | min | median | peak RSS growth | Python heap held | heap peak |")
    print("|---|---|---|---|---|---|")
    print(
        f"| `Screener.default()` x{args.build_runs} | {build['min_s']:.3f} s | {build['median_s']:.3f} s "
        f"| {build['rss_growth_mb']:.0f} MB | {build['held_mb']:.1f} MB | {build['peak_mb']:.1f} MB |\n"
    )
    inputs = make_inputs(random.Random(args.seed), args.scale)
    print("| type | lookups | screened | seconds | lookups/s |")
    print("|---|---:|---:|---:|---:|")
    for kind, count, hits, seconds in measure_lookups(screener, inputs):
        print(
            f"| {kind} | {count:,} | {hits:,} ({hits / count:.1%}) | {seconds:.2f} | {count / seconds:,.0f} |"
        )


if __name__ == "__main__":
    main()
