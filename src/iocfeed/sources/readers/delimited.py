"""CSV with a header row (or given column names), quoted fields, `#` comment lines, any line ends.

Records are assembled from physical lines first: lines are joined while a quote is open (a quoted
field may hold a line break). A stray quote would otherwise swallow the rest of the file into one
field, so a record still open after MAX_RECORD_LINES lines, or at the end of the file, costs only its
first line: that line is reported and reading resumes on the next one.

Speed (feeds have millions of rows): a line with an even number of quotes, read while no record is
open, is a record of its own. Such lines are gathered and handed to one `csv.reader` a chunk at a
time; if that reader read exactly one row per line, each row is what parsing its line alone gives.
If it did not (a quote opened inside a line and ran on), or it raised, the chunk is parsed line by
line instead. A line with an odd number of quotes opens a record, and the careful assembler takes
over until no record is open and no line is waiting to be re-read.
"""

from __future__ import annotations

import csv
import dataclasses
from collections import deque
from collections.abc import Callable, Iterator
from typing import TextIO

from iocfeed.errors import ImportFormatError
from iocfeed.sources.records import RECORD_FIELDS, RawRecord, ReaderOptions, record_from_mapping

MAX_RECORD_LINES = 20
_MAX_FIELD = 1 << 20
_CHUNK_LINES = 512  # single-line records parsed by one csv.reader

# (first line number, cells, None), (line number, None, reason) for an unreadable record, or
# (line number, None, None) for a line whose quote never closed.
_Record = tuple[int, list[str] | None, "csv.Error | None"]


class _Lines:
    """Physical lines with their numbers; lines pushed back are read again first."""

    def __init__(self, stream: TextIO) -> None:
        self.readline = stream.readline
        self.pushed: deque[tuple[int, str]] = deque()
        self.number = 0

    def next(self) -> tuple[int, str] | None:
        if self.pushed:
            return self.pushed.popleft()
        line = self.readline()
        if not line:
            return None
        self.number += 1
        return self.number, line


def _careful(lines: _Lines, first: tuple[int, str] | None) -> Iterator[tuple[int, str | None]]:
    """Logical records as (first line number, text), or (line number, None) for a broken line,
    until no record is open and no line waits to be re-read."""
    pending: list[tuple[int, str]] = []
    quotes = 0
    item = first
    while True:
        if item is None:
            item = lines.next()
        if item is None:
            if not pending:
                return
            # The file ended inside a quote: the first line is broken, the rest is re-read.
            yield pending[0][0], None
            lines.pushed.extendleft(reversed(pending[1:]))
            pending, quotes = [], 0
            continue
        _, line = item
        item = None
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            if not lines.pushed:
                return
            continue
        pending.append((_, line))
        quotes += line.count('"')
        if quotes % 2 == 0:
            yield pending[0][0], "".join(text for _, text in pending)
            pending, quotes = [], 0
            if not lines.pushed:
                return
        elif len(pending) > MAX_RECORD_LINES:
            yield pending[0][0], None
            lines.pushed.extendleft(reversed(pending[1:]))
            pending, quotes = [], 0


def _cells(text: str) -> list[str]:
    # skipinitialspace: some feeds (ThreatFox) write `", "` between quoted fields.
    return next(csv.reader([text], skipinitialspace=True), [])


def _parse_chunk(numbers: list[int], texts: list[str]) -> Iterator[_Record]:
    """Single-line records: one csv.reader for the chunk when it reads one row per line (then each
    row is what its line alone gives), else line by line."""
    try:
        rows = list(csv.reader(texts, skipinitialspace=True))
    except csv.Error:
        rows = []
    if len(rows) == len(texts):
        for number, row in zip(numbers, rows, strict=True):
            yield number, row, None
        return
    for number, text in zip(numbers, texts, strict=True):
        try:
            yield number, _cells(text), None
        except csv.Error as exc:
            yield number, None, exc


def _records(stream: TextIO) -> Iterator[_Record]:
    lines = _Lines(stream)
    readline = stream.readline
    numbers: list[int] = []
    texts: list[str] = []
    while True:
        line = readline()
        if not line:
            break
        lines.number += 1
        if line.count('"') & 1:  # a quote opens here: the careful assembler takes over
            if texts:
                yield from _parse_chunk(numbers, texts)
                numbers, texts = [], []
            for number, text in _careful(lines, (lines.number, line)):
                if text is None:
                    yield number, None, None
                    continue
                try:
                    yield number, _cells(text), None
                except csv.Error as exc:
                    yield number, None, exc
            continue
        start = line.lstrip()
        if not start or start[0] == "#":
            continue
        numbers.append(lines.number)
        texts.append(line)
        if len(texts) >= _CHUNK_LINES:
            yield from _parse_chunk(numbers, texts)
            numbers, texts = [], []
    if texts:
        yield from _parse_chunk(numbers, texts)


# RawRecord's positional fields after `location` are RECORD_FIELDS, in that order.
_POSITIONAL = tuple(field.name for field in dataclasses.fields(RawRecord))[1 : len(RECORD_FIELDS) + 1]


def _record_builder(header: list[str], options: ReaderOptions) -> Callable[[str, list[str]], RawRecord]:
    """RawRecord from a row's cells, as `record_from_mapping` makes it from the row as a dict: our
    fields by column position (the last column of a repeated name), stripped, empty as missing.

    Rows as wide as the header take a function written for this header (cells picked by constant
    index: a quarter of the cost of a loop over the fields, and this runs for every row); shorter
    rows go the general way. Only integer column positions are written into that function's text.
    """
    positions = {name: index for index, name in enumerate(header)}
    columns = [positions.get(options.column_for(name)) for name in RECORD_FIELDS]

    def general(location: str, cells: list[str]) -> RawRecord:
        row = {name: cell.strip() for name, cell in zip(header, cells, strict=False)}
        return record_from_mapping(location, row, options)

    if _POSITIONAL != RECORD_FIELDS:  # pragma: no cover - RawRecord changed shape
        return general
    value, *rest = columns
    arguments = [f"cells[{int(value)}].strip()"] if value is not None else ['""']
    arguments += [f"(cells[{int(index)}].strip() or None)" if index is not None else "None" for index in rest]
    source = (
        "def build(location, cells):\n"
        f"    if len(cells) < {len(header)}:\n"
        "        return general(location, cells)\n"
        f"    return RawRecord(location, {', '.join(arguments)})\n"
    )
    namespace: dict[str, object] = {"RawRecord": RawRecord, "general": general}
    exec(source, namespace)  # noqa: S102 - the text holds integer positions only (see above)
    return namespace["build"]  # type: ignore[return-value]


def read(stream: TextIO, options: ReaderOptions | None = None) -> Iterator[RawRecord]:
    options = options or ReaderOptions()
    csv.field_size_limit(_MAX_FIELD)
    records = _records(stream)
    if options.fieldnames is not None:
        header = [name.strip() for name in options.fieldnames]
    else:
        first = next(records, None)
        if first is None:
            return
        number, cells, error = first
        if error is not None:
            raise error
        if cells is None:
            raise ImportFormatError(f"line {number}: the CSV header has an unbalanced quote")
        header = [name.strip().lower() for name in cells]
    value_column = options.column_for("value")
    if value_column not in header:
        raise ImportFormatError(
            f"the CSV header has no {value_column!r} column (found: {', '.join(header) or 'nothing'})"
        )
    build = _record_builder(header, options)
    for number, cells, error in records:
        location = f"line {number}"
        if cells is None:
            if error is None:
                yield RawRecord(location, "", error="unbalanced quote; the line was skipped")
            else:
                yield RawRecord(location, "", error=f"unreadable CSV row ({error})")
            continue
        if not "".join(cells).strip():
            continue
        yield build(location, cells)
