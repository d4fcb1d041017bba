"""Plain lists: one value per line; blank lines and `#` comments skipped (Feodo, OpenPhish, ET)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TextIO

from iocfeed.sources.records import RawRecord, ReaderOptions


def read(stream: TextIO, options: ReaderOptions | None = None) -> Iterator[RawRecord]:
    for number, line in enumerate(stream, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        yield RawRecord(f"line {number}", text)
