"""Local input files: opening them (BOM, gzip, any line ends, bad bytes) and guessing their format.

READERS maps a format name to its reader and to what that reader takes. Text readers (txt, csv,
json, jsonl) get decoded text; binary readers (stix, misp, rss) get the bytes, because ijson parses
bytes and an XML parser must see the document's own encoding declaration (both also accept text).
Record formats yield RawRecord; article formats (rss) yield RawArticle, whose indicators the
pipeline extracts; FORMATS lists the record formats (what `iocfeed import` takes).
"""

from __future__ import annotations

import codecs
import gzip
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TextIO

from iocfeed.errors import ImportFormatError
from iocfeed.sources.readers import delimited, jsonrecords, misp, otx, rss, stix, text
from iocfeed.sources.records import RawArticle, RawRecord, ReaderOptions


@dataclass(frozen=True, slots=True)
class Reader:
    """A format's reader; calling the entry calls the reader, as with a plain function."""

    read: Callable[[Any, ReaderOptions], Iterator[Any]]
    binary: bool = False  # give it the raw bytes (opened "rb"), not decoded text
    articles: bool = False  # it yields RawArticle, not RawRecord

    def __call__(self, stream: IO[Any], options: ReaderOptions) -> Iterator[Any]:
        return self.read(stream, options)


READERS: dict[str, Reader] = {
    "txt": Reader(text.read),
    "csv": Reader(delimited.read),
    "json": Reader(jsonrecords.read),
    "jsonl": Reader(jsonrecords.read),
    "stix": Reader(stix.read, binary=True),  # a bundle, a bare array of objects, a TAXII envelope
    "misp": Reader(misp.read, binary=True),  # one MISP event file (a feed's manifest: misp.read_manifest)
    "rss": Reader(rss.read, binary=True, articles=True),  # RSS 2.0/1.0 and Atom
    "otx": Reader(otx.read),  # one saved page of OTX pulses (the ingest loop follows `next`)
}
FORMATS: tuple[str, ...] = tuple(name for name, reader in READERS.items() if not reader.articles)
ARTICLE_FORMATS: tuple[str, ...] = tuple(name for name, reader in READERS.items() if reader.articles)

_BY_SUFFIX = {
    ".txt": "txt",
    ".list": "txt",
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".stix": "stix",
    ".xml": "rss",
    ".rss": "rss",
    ".atom": "rss",
}
# Cheap looks at a JSON file's head: a STIX bundle, envelope or object array; a MISP event.
_STIX_HEAD_RE = re.compile(r'"type"\s*:\s*"bundle"|"spec_version"\s*:\s*"2\.[01]"')
_MISP_HEAD_RE = re.compile(r'^\{\s*"Event"\s*:\s*\{')
_FEED_HEAD_RE = re.compile(r"<(?:rss|feed|rdf:RDF)\b")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def open_text(path: Path, encoding: str | None = None) -> TextIO:
    """Text; a BOM is dropped, undecodable bytes become U+FFFD (that row is then rejected, not the
    file), newline="" so the csv module sees quoted line breaks as they are. The charset is UTF-8
    unless `encoding` (the one a server declared) says otherwise; a byte-order mark beats both."""
    raw = open_binary(path)
    try:
        head = raw.peek(4)[:4]  # type: ignore[attr-defined]  # BufferedReader and GzipFile both peek
    except (OSError, EOFError):  # a broken .gz: reading reports it, with the reader's context
        head = b""
    return io.TextIOWrapper(raw, encoding=_codec(head, encoding), errors="replace", newline="")  # type: ignore[arg-type]


def _codec(head: bytes, declared: str | None) -> str:
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec
    try:
        name = codecs.lookup(declared).name if declared else "utf-8"
    except LookupError:  # a charset Python does not know: UTF-8 is the best guess
        name = "utf-8"
    return "utf-8-sig" if name == "utf-8" else name


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, gunzipped if it ends in .gz (binary readers drop a BOM themselves)."""
    try:
        return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    except OSError as exc:
        raise ImportFormatError(f"cannot open {path}: {exc.strerror or exc}") from exc


def guess_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s != ".gz"]
    by_suffix = _BY_SUFFIX.get(suffixes[-1]) if suffixes else None
    if by_suffix is not None and by_suffix != "json":  # .json may hold STIX or a MISP event: look
        return by_suffix
    with open_text(path) as stream:
        head = stream.read(4096).lstrip()
    if head.startswith(("[", "{")):
        if _MISP_HEAD_RE.match(head):
            return "misp"
        return "stix" if _STIX_HEAD_RE.search(head) else "json"
    if by_suffix is not None:
        return by_suffix
    if head.startswith("<") and _FEED_HEAD_RE.search(head):
        return "rss"
    first = next((line for line in head.splitlines() if line and not line.startswith("#")), "")
    if "," in first and "value" in first.lower().split(","):
        return "csv"
    return "txt"


def read_file(
    path: Path, fmt: str, options: ReaderOptions, *, encoding: str | None = None
) -> Iterator[RawRecord | RawArticle]:
    """What the file holds in format `fmt`: RawRecord, or RawArticle for an article format
    (READERS[fmt].articles). `encoding`: the charset a server declared, for text formats; binary
    formats decode themselves (JSON is UTF-8, XML says its own encoding)."""
    if fmt not in READERS:
        raise ImportFormatError(f"unknown format {fmt!r}; use one of {', '.join(READERS)}")
    reader = READERS[fmt]
    with open_binary(path) if reader.binary else open_text(path, encoding) as stream:
        try:
            yield from reader(stream, options)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise ImportFormatError(f"{path}: the file could not be read to its end ({exc})") from exc


def read_articles(path: Path, fmt: str, options: ReaderOptions) -> Iterator[RawArticle]:
    """read_file for the article formats only (rss)."""
    if fmt not in ARTICLE_FORMATS:
        raise ImportFormatError(f"{fmt!r} is not an article format; use one of {', '.join(ARTICLE_FORMATS)}")
    for item in read_file(path, fmt, options):
        assert isinstance(item, RawArticle)
        yield item
