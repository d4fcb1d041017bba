"""CSV with a header row (or given column names), quoted fields, `#` comment lines, any line ends.

Records are assembled from physical lines first: lines are joined while a quote is open (a quoted
field may hold a line break). A stray quote would otherwise swallow the rest of the file into one
field, so a record still open after MAX_RECORD_LINES lines, or at the end of the file, costs only its
first line: that line is reported and reading resumes on the next one.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator
from typing import TextIO

from iocfeed.errors import ImportFormatError
from iocfeed.sources.records import RawRecord, ReaderOptions, record_from_mapping

MAX_RECORD_LINES = 20
_MAX_FIELD = 1 << 20


class _Records:
    """Logical CSV records as (first line number, text), or (line number, None) for a broken line."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._pushed: deque[tuple[int, str]] = deque()
        self._number = 0

    def _next_line(self) -> tuple[int, str] | None:
        if self._pushed:
            return self._pushed.popleft()
        line = self._stream.readline()
        if not line:
            return None
        self._number += 1
        return self._number, line

    def __iter__(self) -> Iterator[tuple[int, str | None]]:
        pending: list[tuple[int, str]] = []
        quotes = 0
        while True:
            item = self._next_line()
            if item is None:
                if not pending:
                    return
                # The file ended inside a quote: the first line is broken, the rest is re-read.
                yield pending[0][0], None
                self._pushed.extendleft(reversed(pending[1:]))
                pending, quotes = [], 0
                continue
            _, line = item
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            pending.append(item)
            quotes += line.count('"')
            if quotes % 2 == 0:
                yield pending[0][0], "".join(text for _, text in pending)
                pending, quotes = [], 0
            elif len(pending) > MAX_RECORD_LINES:
                yield pending[0][0], None
                self._pushed.extendleft(reversed(pending[1:]))
                pending, quotes = [], 0


def _cells(text: str) -> list[str]:
    # skipinitialspace: some feeds (ThreatFox) write `", "` between quoted fields.
    return next(csv.reader([text], skipinitialspace=True), [])


def read(stream: TextIO, options: ReaderOptions | None = None) -> Iterator[RawRecord]:
    options = options or ReaderOptions()
    csv.field_size_limit(_MAX_FIELD)
    records = iter(_Records(stream))
    if options.fieldnames is not None:
        header = [name.strip() for name in options.fieldnames]
    else:
        first = next(records, None)
        if first is None:
            return
        number, text = first
        if text is None:
            raise ImportFormatError(f"line {number}: the CSV header has an unbalanced quote")
        header = [name.strip().lower() for name in _cells(text)]
    value_column = options.column_for("value")
    if value_column not in header:
        raise ImportFormatError(
            f"the CSV header has no {value_column!r} column (found: {', '.join(header) or 'nothing'})"
        )
    for number, text in records:
        location = f"line {number}"
        if text is None:
            yield RawRecord(location, "", error="unbalanced quote; the line was skipped")
            continue
        try:
            cells = _cells(text)
        except csv.Error as exc:
            yield RawRecord(location, "", error=f"unreadable CSV row ({exc})")
            continue
        if not any(cell.strip() for cell in cells):
            continue
        row = {name: cell.strip() for name, cell in zip(header, cells, strict=False)}
        yield record_from_mapping(location, row, options)
