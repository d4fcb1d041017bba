"""The CSV reader's fast path reads exactly what the careful line assembler reads.

`reference_read` is the reader as it was before the fast path (every record assembled line by line,
each parsed by its own csv.reader); the fast reader must agree with it on any input.
"""

from __future__ import annotations

import csv
import io
from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from iocfeed.errors import ImportFormatError
from iocfeed.sources.readers import delimited
from iocfeed.sources.records import RawRecord, ReaderOptions, record_from_mapping


class _ReferenceRecords:
    def __init__(self, stream):
        self._stream = stream
        self._pushed = deque()
        self._number = 0

    def _next_line(self):
        if self._pushed:
            return self._pushed.popleft()
        line = self._stream.readline()
        if not line:
            return None
        self._number += 1
        return self._number, line

    def __iter__(self):
        pending, quotes = [], 0
        while True:
            item = self._next_line()
            if item is None:
                if not pending:
                    return
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
            elif len(pending) > delimited.MAX_RECORD_LINES:
                yield pending[0][0], None
                self._pushed.extendleft(reversed(pending[1:]))
                pending, quotes = [], 0


def _reference_cells(text):
    return next(csv.reader([text], skipinitialspace=True), [])


def reference_read(stream, options=None):
    options = options or ReaderOptions()
    records = iter(_ReferenceRecords(stream))
    if options.fieldnames is not None:
        header = [name.strip() for name in options.fieldnames]
    else:
        first = next(records, None)
        if first is None:
            return
        number, text = first
        if text is None:
            raise ImportFormatError(f"line {number}: the CSV header has an unbalanced quote")
        header = [name.strip().lower() for name in _reference_cells(text)]
    value_column = options.column_for("value")
    if value_column not in header:
        raise ImportFormatError("no value column")
    for number, text in records:
        location = f"line {number}"
        if text is None:
            yield RawRecord(location, "", error="unbalanced quote; the line was skipped")
            continue
        try:
            cells = _reference_cells(text)
        except csv.Error as exc:
            yield RawRecord(location, "", error=f"unreadable CSV row ({exc})")
            continue
        if not any(cell.strip() for cell in cells):
            continue
        row = {name: cell.strip() for name, cell in zip(header, cells, strict=False)}
        yield record_from_mapping(location, row, options)


def _outcome(reader, data, options=None, newline=""):
    try:
        return ("ok", list(reader(io.StringIO(data, newline=newline), options)))
    except (ImportFormatError, csv.Error) as exc:
        return ("error", type(exc).__name__)


# Lines built from the pieces that matter to the assembler: quotes, separators, line ends, comments.
_piece = st.sampled_from(['"', '""', ",", ", ", " ", "#", "a", "1.2.3.4", "x y", "\t", "\r", "\\"])
_line = st.lists(_piece, max_size=8).map("".join)
_end = st.sampled_from(["\n", "\r\n", "\r", ""])


@st.composite
def _documents(draw):
    header = draw(
        st.sampled_from(["value,tags,context\n", "Value,type,value\n", "tags,value\n", '"value",x\n'])
    )
    lines = draw(st.lists(st.tuples(_line, _end), max_size=40))
    return header + "".join(text + end for text, end in lines)


@settings(max_examples=400, deadline=None)
@given(_documents(), st.sampled_from(["", None, "\n"]))
def test_the_fast_reader_reads_what_the_careful_one_reads(data, newline):
    assert _outcome(delimited.read, data, newline=newline) == _outcome(reference_read, data, newline=newline)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_line, _end), max_size=60).map(lambda ls: "".join(t + e for t, e in ls)))
def test_the_fast_reader_agrees_with_given_fieldnames(data):
    options = ReaderOptions(columns={"value": "b", "tags": "a"}, fieldnames=("a", "b", "c"))
    assert _outcome(delimited.read, data, options) == _outcome(reference_read, data, options)


def test_many_single_line_records_span_several_chunks_with_a_multiline_one_between():
    rows = [f'{i}.0.0.1,"t{i}",ctx\n' for i in range(1, 1500)]
    rows.insert(700, '9.9.9.9,"two\nlines",ctx\n')
    rows.insert(1200, '"stray,x\n')
    data = "value,tags,context\n" + "".join(rows)
    assert _outcome(delimited.read, data) == _outcome(reference_read, data)
    records = list(delimited.read(io.StringIO(data, newline="")))
    assert len(records) == 1501
    assert records[700].tags == "two\nlines" and records[701].location == "line 704"
    assert records[1200].error and records[1200].location == "line 1203"


def test_a_row_shorter_than_a_header_with_a_repeated_name_reads_as_a_dict_would():
    data = "value,tags,value\n1.2.3.4,x\n5.6.7.8,y,9.9.9.9\n"
    records = list(delimited.read(io.StringIO(data, newline="")))
    assert [r.value for r in records] == ["1.2.3.4", "9.9.9.9"]
