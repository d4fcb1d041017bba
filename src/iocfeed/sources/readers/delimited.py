"""CSV with a header row (or given column names), quoted fields, `#` comment lines, any line ends."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TextIO

from iocfeed.errors import ImportFormatError
from iocfeed.sources.records import RawRecord, ReaderOptions, record_from_mapping

_MAX_FIELD = 1 << 20  # a 1 MiB field is already not an indicator; stop before memory goes


class _Lines:
    """Feeds the csv module non-comment lines while counting physical lines for error reports."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.number = 0  # physical lines read so far
        self.last_yielded = 0  # the physical line number of the last line handed to csv

    def __iter__(self) -> Iterator[str]:
        for line in self._stream:
            self.number += 1
            if line.lstrip().startswith("#"):
                continue
            self.last_yielded = self.number
            yield line


def read(stream: TextIO, options: ReaderOptions | None = None) -> Iterator[RawRecord]:
    options = options or ReaderOptions()
    csv.field_size_limit(_MAX_FIELD)
    lines = _Lines(stream)
    # skipinitialspace: some feeds (ThreatFox) write `", "` between quoted fields.
    reader = csv.reader(iter(lines), skipinitialspace=True)
    if options.fieldnames is not None:
        header = [name.strip() for name in options.fieldnames]
    else:
        try:
            header = [name.strip().lower() for name in next(reader)]
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFormatError(f"line {lines.number}: cannot read the CSV header: {exc}") from exc
    value_column = options.column_for("value")
    if value_column not in header:
        raise ImportFormatError(
            f"the CSV header has no {value_column!r} column (found: {', '.join(header) or 'nothing'})"
        )
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # A broken quote or an oversized field: report it and go on with the next line.
            yield RawRecord(f"line {lines.last_yielded}", "", error=f"unreadable CSV row ({exc})")
            continue
        if not cells or all(not cell.strip() for cell in cells):
            continue
        # A record spanning lines (a quoted newline) is reported at its last line.
        row = {name: cell.strip() for name, cell in zip(header, cells, strict=False)}
        yield record_from_mapping(f"line {lines.last_yielded}", row, options)
