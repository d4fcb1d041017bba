"""Extraction benchmark: our extractor against iocextract and ioc-finder, same input, same run.

    .venv/bin/python benchmarks/extract_bench.py [--size-mb 50] [--venv DIR]

1. Builds an advisory-style corpus of `--size-mb` MB (benchmarks/corpus_gen.py, deterministic).
2. Installs iocextract and ioc-finder into a throwaway virtual environment (`--venv`, default
   $TMPDIR/iocfeed-bench-peers; created
   with `python -m venv` and pip from PyPI on first use). They are not project dependencies.
3. Runs each tool in its own subprocess over every document of the corpus, streamed from the file
   one document at a time (documents are separated by a form-feed line, see corpus_gen): CPU and
   wall seconds of the extraction calls alone (imports and reading excluded), MB/s, and peak RSS
   (ru_maxrss) beside the RSS after imports and a warm-up document, so the table shows both the
   process peak and what extraction added.
4. Scores each tool on the hand-written corpus (tests/indicators/corpus) as test_corpus.py does.
   Peer outputs are mapped onto our types and put through our canonicalizer, so a value spelled
   differently (upper case, a trailing slash) is not counted against them; a value our
   canonicalizer rejects counts as a false positive. Type mapping:

       ours            iocextract                    ioc-finder
       url             extract_urls(refang=True)     urls
       domain          (none)                        domains
       ipv4 / ipv6     extract_ipv4s / extract_ipv6s ipv4s / ipv6s
       email           extract_emails(refang=True)   email_addresses
       md5 ... sha512  extract_*_hashes              md5s, sha1s, sha256s, sha512s
       cve             (none)                        cves
       mitre-attack    (none)                        attack_techniques, attack_tactics (ids)

   "overall" is over all our types; "own types" only over the types the tool claims to extract.

Prints a Markdown table. The worker half of this file (`--worker`) runs under the peers' venv
too, so it imports nothing from iocfeed.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS_DIR = HERE.parent / "tests" / "indicators" / "corpus"
PEERS = {"iocextract": ["iocextract", "requests"], "ioc-finder": ["ioc-finder"]}

# --- Worker: runs one tool; stdlib and the tool only ---------------------------------------------

Extractor = Callable[[str], Iterable[tuple[str, str]]]


def _ours() -> Extractor:
    from iocfeed.indicators.extract import extract

    return lambda text: ((item.type.value, item.value) for item in extract(text))


def _iocextract() -> Extractor:
    import iocextract

    typed = [
        ("url", lambda t: iocextract.extract_urls(t, refang=True)),
        ("ipv4", lambda t: iocextract.extract_ipv4s(t, refang=True)),
        ("ipv6", iocextract.extract_ipv6s),
        ("email", lambda t: iocextract.extract_emails(t, refang=True)),
        ("md5", iocextract.extract_md5_hashes),
        ("sha1", iocextract.extract_sha1_hashes),
        ("sha256", iocextract.extract_sha256_hashes),
        ("sha512", iocextract.extract_sha512_hashes),
    ]
    return lambda text: ((kind, value) for kind, function in typed for value in function(text))


def _ioc_finder() -> Extractor:
    from ioc_finder import find_iocs

    keys = {
        "urls": "url", "domains": "domain", "ipv4s": "ipv4", "ipv6s": "ipv6", "email_addresses": "email",
        "md5s": "md5", "sha1s": "sha1", "sha256s": "sha256", "sha512s": "sha512", "cves": "cve",
    }  # fmt: skip

    def run(text: str) -> Iterable[tuple[str, str]]:
        found = find_iocs(text)
        for key, kind in keys.items():
            yield from ((kind, value) for value in found.get(key, []))
        for key in ("attack_techniques", "attack_tactics"):
            for ids in (found.get(key) or {}).values():  # by matrix: enterprise, mobile, ...
                yield from (("mitre-attack", value) for value in ids)

    return run


TOOLS: dict[str, Callable[[], Extractor]] = {
    "ours": _ours,
    "iocextract": _iocextract,
    "ioc-finder": _ioc_finder,
}
OWN_TYPES = {
    "ours": None,
    "iocextract": {"url", "ipv4", "ipv6", "email", "md5", "sha1", "sha256", "sha512"},
    "ioc-finder": None,
}


def _rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux


def worker(tool: str, mode: str, path: Path) -> None:
    extractor = TOOLS[tool]()
    if mode == "corpus":
        results = {}
        for document in sorted(path.iterdir()):
            if not document.name.endswith(".expected.json"):
                results[document.name] = sorted(set(extractor(document.read_text("utf-8"))))
        print(json.dumps(results))
        return
    with path.open(encoding="utf-8") as handle:
        list(extractor(next(_documents(handle))))  # warm up: lazy tables, compiled patterns
    baseline = _rss_kb()
    size = count = documents = 0
    wall = cpu = 0.0
    with path.open(encoding="utf-8") as handle:  # streamed: the peak is extraction's, not the file's
        for document in _documents(handle):
            started, cpu_started = time.perf_counter(), time.process_time()
            count += sum(1 for _ in extractor(document))
            wall += time.perf_counter() - started
            cpu += time.process_time() - cpu_started
            size += len(document.encode("utf-8"))
            documents += 1
    print(json.dumps({"bytes": size, "documents": documents, "items": count, "wall": wall, "cpu": cpu,
                      "baseline_rss_kb": baseline, "peak_rss_kb": _rss_kb()}))  # fmt: skip


def _documents(lines: Iterable[str]) -> Iterable[str]:
    """The documents of a corpus file, one at a time (they are separated by a form-feed line)."""
    document: list[str] = []
    for line in lines:
        if line == "\f\n":
            yield "".join(document)[:-1]  # the separator's leading newline is not the document's
            document = []
        else:
            document.append(line)
    if document:
        yield "".join(document)


# --- Driver --------------------------------------------------------------------------------------


def ensure_peer_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    packages = [package for names in PEERS.values() for package in names]
    probe = "import iocextract, ioc_finder"
    if subprocess.run([str(python), "-c", probe], capture_output=True).returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    return python


def run_worker(python: Path, tool: str, mode: str, path: Path) -> dict:
    command = [
        str(python),
        str(Path(__file__).resolve()),
        "--worker",
        tool,
        "--mode",
        mode,
        "--input",
        str(path),
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def score(tool: str, found_by_document: dict[str, list[list[str]]]) -> dict[str, tuple[float, float, float]]:
    from iocfeed.errors import InvalidIndicator
    from iocfeed.indicators import IndicatorType, canonicalize

    own = OWN_TYPES[tool]
    totals: dict[str, list[int]] = {"overall": [0, 0, 0], "own types": [0, 0, 0]}
    for name, found_pairs in found_by_document.items():
        expected_path = CORPUS_DIR / (name.rsplit(".", 1)[0] + ".expected.json")
        expected = {(i["type"], i["value"]) for i in json.loads(expected_path.read_text("utf-8"))}
        found = set()
        for kind, value in found_pairs:
            try:
                found.add((kind, canonicalize(IndicatorType(kind), value)))
            except InvalidIndicator:
                found.add((kind, f"invalid:{value}"))
        for scope in ("overall", "own types"):
            keep = (lambda pair: True) if scope == "overall" or own is None else (lambda pair: pair[0] in own)
            exp, got = {p for p in expected if keep(p)}, {p for p in found if keep(p)}
            counts = totals[scope]
            counts[0] += len(exp & got)
            counts[1] += len(got - exp)
            counts[2] += len(exp - got)
    result = {}
    for scope, (tp, fp, fn) in totals.items():
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result[scope] = (precision, recall, f1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=float, default=50.0, help="size of the generated corpus")
    scratch = Path(tempfile.gettempdir())
    parser.add_argument("--venv", type=Path, default=scratch / "iocfeed-bench-peers", help="peers' venv")
    parser.add_argument("--corpus", type=Path, default=scratch / "iocfeed-bench-corpus.txt")
    parser.add_argument("--tools", default="ours,iocextract,ioc-finder")
    parser.add_argument("--worker", choices=sorted(TOOLS), help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=["throughput", "corpus"], help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.mode, args.input)
        return

    sys.path.insert(0, str(HERE))
    from corpus_gen import write_corpus

    documents = write_corpus(args.corpus, args.size_mb)
    tools = args.tools.split(",")
    peer_python = ensure_peer_venv(args.venv) if set(tools) - {"ours"} else None
    rows = []
    for tool in tools:
        python = Path(sys.executable) if tool == "ours" else peer_python
        assert python is not None
        print(f"running {tool} ...", file=sys.stderr, flush=True)
        speed = run_worker(python, tool, "throughput", args.corpus)
        quality = score(tool, run_worker(python, tool, "corpus", CORPUS_DIR))
        rows.append((tool, speed, quality))

    size_mb = rows[0][1]["bytes"] / 1e6
    print(f"\nInput: {size_mb:.1f} MB, {documents} advisory-style documents (benchmarks/corpus_gen.py); "
          f"quality on the {len(list(CORPUS_DIR.glob('*.expected.json')))} hand-written texts.\n")  # fmt: skip
    print(
        "| tool | MB/s (CPU) | MB/s (wall) | items | peak RSS MB | RSS added MB | P | R | F1 | F1 own types |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for tool, speed, quality in rows:
        precision, recall, f1 = quality["overall"]
        print(
            f"| {tool} | {speed['bytes'] / 1e6 / speed['cpu']:.2f} | {speed['bytes'] / 1e6 / speed['wall']:.2f} "
            f"| {speed['items']} | {speed['peak_rss_kb'] / 1024:.0f} "
            f"| {(speed['peak_rss_kb'] - speed['baseline_rss_kb']) / 1024:.0f} "
            f"| {precision:.3f} | {recall:.3f} | {f1:.3f} | {quality['own types'][2]:.3f} |"
        )


if __name__ == "__main__":
    main()
