"""A large advisory-style corpus, generated deterministically, for the extraction benchmark.

Each document is one of the hand-written corpus texts (tests/indicators/corpus: advisories, blog
posts, tweets, IOC READMEs, HTML pages) followed by a few paragraphs of advisory prose built from
sentence templates, with fresh indicator values in assorted defang styles, plus the things that
trip extractors up: version numbers, file names, GUIDs, hex blobs and vendor domains. Values are
drawn from a seeded generator, so the same size gives the same bytes on every run.

    python benchmarks/corpus_gen.py --size-mb 50 --out /tmp/advisories.txt

Documents are separated by a line holding only a form feed (DOCUMENT_SEPARATOR).
"""

from __future__ import annotations

import argparse
import hashlib
import random
from collections.abc import Iterator
from pathlib import Path

DOCUMENT_SEPARATOR = "\n\f\n"
CORPUS_DIR = Path(__file__).resolve().parent.parent / "tests" / "indicators" / "corpus"

# fmt: off
_WORDS = [
    "update", "cloud", "secure", "portal", "mail", "sync", "cdn", "files", "login", "auth", "api",
    "static", "edge", "docs", "share", "office", "support", "service", "telemetry", "data", "backup",
    "panel", "gate", "admin", "verify", "account", "invoice",
]
# fmt: on
_TLDS = ["com", "net", "org", "info", "xyz", "top", "ru", "online", "site", "io", "co.uk", "de", "live"]
_FILES = ["invoice.pdf", "update.ps1", "payload.zip", "install.sh", "loader.dll", "readme.md", "bot.py"]
_VENDORS = ["microsoft.com", "google.com", "github.com", "cloudflare.com", "amazonaws.com"]

PROSE_SHARE = 0.7  # of generated sentences without indicators: advisories are mostly prose
_PROSE = [
    "The actor maintained access for several weeks before deploying the encryptor across the domain.",
    "Defenders should review authentication logs for anomalous logins from unfamiliar locations.",
    "We assess with moderate confidence that the activity overlaps with a previously reported cluster.",
    "Organizations are encouraged to apply the mitigations below and to report incidents promptly.",
    "The loader decrypts its configuration with a hard-coded key and injects into a signed process.",
    "Persistence was established through a scheduled task masquerading as a browser updater.",
    "Network defenders can detect the beacon by its fixed jitter and unusual TLS fingerprint.",
    "Several victims were in the manufacturing, healthcare and government sectors in Europe.",
    "The operators used living-off-the-land binaries to blend in with administrative activity.",
    "Initial access brokers sold the credentials on an underground forum weeks before the attack.",
    "Logs showed repeated failed authentication attempts followed by a successful login at night.",
    "The malware enumerates running processes and terminates security products by name.",
    "Backups were deleted and volume shadow copies removed before encryption started.",
    "This advisory will be updated as new information becomes available to the authoring agencies.",
]
_WITH_VALUES = [
    "The implant beacons to {url} every {n} seconds and falls back to {ip} on port {port}.",
    "Infrastructure included {domain}, {domain2} and the server {ip}, all registered in {year}.",
    "The dropper ({file}, SHA-256 {sha256}) was signed with a stolen certificate.",
    "Phishing messages came from {email} and linked to {url}.",
    "Exploitation of {cve} ({technique}) was observed from {ip} and {ip2}.",
    "The affected product runs version {version}; the fix ships in build {version2}.",
    "Hashes: MD5 {md5}, SHA-1 {sha1}.",
    "The sample registers the COM object {{{guid}}} and reads the blob {blob}.",
    "Legitimate services such as {vendor} were abused for staging, not compromised.",
    "A second stage is pulled from {url} and executed with {technique}.",
]


def _ip(rng: random.Random) -> str:
    return ".".join(str(rng.randint(1, 254)) for _ in range(4))


def _domain(rng: random.Random) -> str:
    return f"{rng.choice(_WORDS)}-{rng.choice(_WORDS)}{rng.randint(1, 999)}.{rng.choice(_TLDS)}"


def _defang(value: str, rng: random.Random) -> str:
    style = rng.randrange(6)
    if style == 0:
        return value
    dot = ["[.]", "(.)", "[dot]", "[.]", "{.}"][style - 1]
    head, sep, tail = value.rpartition(".")
    value = f"{head}{dot}{tail}" if sep else value
    return value.replace("http://", "hxxp://").replace("https://", "hxxps://")


def _digest(rng: random.Random, name: str) -> str:
    return getattr(hashlib, name)(rng.randbytes(16)).hexdigest()


def _paragraph(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(4, 9)):
        if rng.random() < PROSE_SHARE:
            sentences.append(rng.choice(_PROSE))
            continue
        host = _domain(rng)
        values = {
            "url": _defang(f"https://{host}/{rng.choice(_WORDS)}/{rng.randint(1, 9999)}.php", rng),
            "ip": _defang(_ip(rng), rng),
            "ip2": _ip(rng),
            "port": rng.choice([443, 8080, 8443, 4444]),
            "n": rng.randint(30, 600),
            "domain": _defang(host, rng),
            "domain2": _defang(_domain(rng), rng),
            "year": rng.randint(2019, 2024),
            "file": rng.choice(_FILES),
            "sha256": _digest(rng, "sha256"),
            "md5": _digest(rng, "md5"),
            "sha1": _digest(rng, "sha1"),
            "email": _defang(f"{rng.choice(_WORDS)}@{_domain(rng)}", rng).replace(
                "@", rng.choice(["@", "[@]"])
            ),
            "cve": f"CVE-{rng.randint(2015, 2024)}-{rng.randint(1000, 49999)}",
            "technique": rng.choice(["T1059.001", "T1566.001", "T1190", "T1071.001", "T1027", "T1105"]),
            "version": ".".join(str(rng.randint(0, 20)) for _ in range(4)),
            "version2": ".".join(str(rng.randint(0, 20)) for _ in range(4)),
            "guid": _digest(rng, "md5"),
            "blob": rng.randbytes(40).hex(),
            "vendor": rng.choice(_VENDORS),
        }
        sentences.append(rng.choice(_WITH_VALUES).format(**values))
    return " ".join(sentences)


def documents(size_bytes: int, seed: int = 2024) -> Iterator[str]:
    """Documents until their total length reaches `size_bytes` characters."""
    rng = random.Random(seed)
    texts = sorted(
        path.read_text("utf-8") for path in CORPUS_DIR.iterdir() if not path.name.endswith(".json")
    )
    total = 0
    index = 0
    while total < size_bytes:
        base = texts[index % len(texts)]
        index += 1
        paragraphs = "\n\n".join(_paragraph(rng) for _ in range(rng.randint(4, 12)))
        # HTML documents get their extra prose as paragraphs, so they stay HTML.
        if base.lstrip().startswith("<"):
            document = base + "\n" + "".join(f"<p>{p}</p>\n" for p in paragraphs.split("\n\n"))
        else:
            document = base + "\n" + paragraphs + "\n"
        total += len(document)
        yield document


def write_corpus(path: Path, size_mb: float, seed: int = 2024) -> int:
    """Write the corpus to `path`; returns the number of documents."""
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for document in documents(int(size_mb * 1_000_000), seed):
            handle.write(document)
            handle.write(DOCUMENT_SEPARATOR)
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=float, default=50.0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    count = write_corpus(args.out, args.size_mb, args.seed)
    print(f"wrote {count} documents to {args.out}")


if __name__ == "__main__":
    main()
