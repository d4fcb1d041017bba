"""Local input files: opening them (BOM, gzip, any line ends, bad bytes) and guessing their format."""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from iocfeed.errors import ImportFormatError
from iocfeed.sources.readers import delimited, jsonrecords, text
from iocfeed.sources.records import RawRecord, ReaderOptions

Reader = Callable[[TextIO, ReaderOptions], Iterator[RawRecord]]

READERS: dict[str, Reader] = {
    "txt": text.read,
    "csv": delimited.read,
    "json": jsonrecords.read,
    "jsonl": jsonrecords.read,
}
FORMATS: tuple[str, ...] = tuple(READERS)

_BY_SUFFIX = {
    ".txt": "txt",
    ".list": "txt",
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


def open_text(path: Path) -> TextIO:
    """UTF-8 text; a BOM is dropped, undecodable bytes become U+FFFD (that row is then rejected,
    not the file), newline="" so the csv module sees quoted line breaks as they are."""
    try:
        if path.suffix == ".gz":
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", errors="replace", newline="")
        return open(path, encoding="utf-8-sig", errors="replace", newline="")
    except OSError as exc:
        raise ImportFormatError(f"cannot open {path}: {exc.strerror or exc}") from exc


def guess_format(path: Path) -> str:
    suffixes = [s for s in path.suffixes if s != ".gz"]
    if suffixes and suffixes[-1].lower() in _BY_SUFFIX:
        return _BY_SUFFIX[suffixes[-1].lower()]
    with open_text(path) as stream:
        head = stream.read(4096).lstrip()
    if head.startswith(("[", "{")):
        return "json"
    first = next((line for line in head.splitlines() if line and not line.startswith("#")), "")
    if "," in first and "value" in first.lower().split(","):
        return "csv"
    return "txt"


def read_file(path: Path, fmt: str, options: ReaderOptions) -> Iterator[RawRecord]:
    if fmt not in READERS:
        raise ImportFormatError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    with open_text(path) as stream:
        try:
            yield from READERS[fmt](stream, options)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise ImportFormatError(f"{path}: the file could not be read to its end ({exc})") from exc
