"""JSON: an array of objects, one object per line (JSON lines), or an array under a top-level key.

Arrays and JSON lines are read incrementally (a chunk at a time), so memory does not grow with the
file. A syntax error inside a JSON-lines file costs one line; inside an array the rest of the array
cannot be found reliably, so the reader reports where it stopped and ends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TextIO

from iocfeed.errors import ImportFormatError
from iocfeed.sources.records import RawRecord, ReaderOptions, record_from_mapping

_CHUNK = 1 << 16
_MAX_ELEMENT = 1 << 22  # 4 MiB: a larger single element is not an indicator record
_decoder = json.JSONDecoder()
_WHITESPACE = " \t\r\n"


def read(stream: TextIO, options: ReaderOptions | None = None) -> Iterator[RawRecord]:
    options = options or ReaderOptions()
    if options.records:
        yield from _read_nested(stream, options)
        return
    head = stream.read(_CHUNK)
    stripped = head.lstrip(_WHITESPACE)
    if not stripped:
        return
    if stripped[0] == "[":
        yield from _read_array(head, stream, options)
    else:
        yield from _read_lines(head, stream, options)


def _to_record(location: str, element: object, options: ReaderOptions) -> RawRecord:
    if isinstance(element, dict):
        return record_from_mapping(location, element, options)
    if isinstance(element, str):
        return RawRecord(location, element)  # an array of bare values
    return RawRecord(location, "", error=f"expected an object, found {type(element).__name__}")


def _read_lines(head: str, stream: TextIO, options: ReaderOptions) -> Iterator[RawRecord]:
    pending = head
    number = 0
    while True:
        more = stream.read(_CHUNK)
        pending += more
        *complete, pending = pending.split("\n")
        if not more:
            complete.append(pending)
        for line in complete:
            number += 1
            text = line.strip()
            if not text:
                continue
            try:
                element = json.loads(text)
            except json.JSONDecodeError as exc:
                yield RawRecord(f"line {number}", "", error=f"invalid JSON ({exc.msg})")
                continue
            yield _to_record(f"line {number}", element, options)
        if not more:
            return


def _read_array(head: str, stream: TextIO, options: ReaderOptions) -> Iterator[RawRecord]:
    buffer = head
    line = 1 + buffer[: buffer.index("[")].count("\n")
    position = buffer.index("[") + 1
    exhausted = False
    while True:
        # Skip separators, counting the newlines we pass.
        while True:
            while position < len(buffer) and buffer[position] in _WHITESPACE + ",":
                if buffer[position] == "\n":
                    line += 1
                position += 1
            if position < len(buffer) or exhausted:
                break
            more = stream.read(_CHUNK)
            exhausted = not more
            buffer, position = buffer[position:] + more, 0
        if position >= len(buffer):
            raise ImportFormatError(f"line {line}: the JSON array is not closed (the file may be truncated)")
        if buffer[position] == "]":
            return
        while True:
            try:
                element, end = _decoder.raw_decode(buffer, position)
                break
            except json.JSONDecodeError as exc:
                if exhausted or len(buffer) - position > _MAX_ELEMENT:
                    where = line + buffer[position : exc.pos].count("\n")
                    yield RawRecord(
                        f"line {where}",
                        "",
                        error=f"invalid JSON ({exc.msg}); the rest of the array was not read",
                    )
                    return
                more = stream.read(_CHUNK)
                exhausted = not more
                buffer, position = buffer[position:] + more, 0
        yield _to_record(f"line {line}", element, options)
        line += buffer.count("\n", position, end)
        position = end  # the buffer is compacted only when more is read


def _read_nested(stream: TextIO, options: ReaderOptions) -> Iterator[RawRecord]:
    """`{"...": ..., "<records>": [ {...}, ... ]}` (CISA KEV style), or with records = "*" an object
    whose every value is a record or a list of records (ThreatFox's export: id -> [record]).
    Loads the document whole: these feeds are a few megabytes."""
    try:
        document = json.load(stream)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"line {exc.lineno}: invalid JSON ({exc.msg})") from exc
    if not isinstance(document, dict):
        raise ImportFormatError("expected a top-level JSON object")
    if options.records == "*":
        for key, value in document.items():
            elements = value if isinstance(value, list) else [value]
            for index, element in enumerate(elements, start=1):
                yield _to_record(f"item {key}" + (f".{index}" if len(elements) > 1 else ""), element, options)
        return
    if not isinstance(document.get(options.records), list):
        raise ImportFormatError(f"expected a top-level object with a {options.records!r} array")
    for index, element in enumerate(document[options.records], start=1):
        yield _to_record(f"item {index}", element, options)
