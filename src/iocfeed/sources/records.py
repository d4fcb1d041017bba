"""The raw record every reader yields: text fields exactly as the source wrote them."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO

# Our field names, which a reader's column mapping maps the source's columns (or keys) onto.
RECORD_FIELDS: tuple[str, ...] = (
    "value",
    "type",
    "first_seen",
    "last_seen",
    "tags",
    "context",
    "industries",
    "reference_url",
    "mitre_techniques",
)


@dataclass(slots=True)
class RawRecord:
    location: str  # where in the input, for error reports: "line 12" or "item 5"
    value: object  # usually a string; anything else is rejected downstream with a reason
    type: str | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    tags: str | list[str] | None = None
    context: str | None = None
    industries: str | list[str] | None = None
    reference_url: str | None = None
    mitre_techniques: str | list[str] | None = None  # ATT&CK ids the source attaches to the value
    error: str | None = None  # the reader could not make sense of this row; why
    # With `error`: the reader passed over this row on purpose (a MISP attribute with to_ids false,
    # a revoked STIX object, a type iocfeed does not store), so a report can count it as skipped
    # rather than as bad input. `error` stays set so that nothing treats the row as an indicator.
    skipped: bool = False


@dataclass(slots=True)
class RawArticle:
    """An advisory or post (an RSS/Atom entry): the pipeline extracts its indicators from `content`,
    and, with `fetch_page`, from the page at `url` as well."""

    location: str
    title: str
    url: str
    published: str | None = None  # as the feed wrote it (RFC 822 or ISO 8601)
    content: str = ""
    content_type: str = "html"  # html | markdown | text
    fetch_page: bool = False
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ReaderOptions:
    """How to find our fields in a source's rows.

    columns: our field -> the source's column (CSV) or key (JSON); unmapped fields use their own name.
    fieldnames: CSV column names when the header row is itself a comment line (abuse.ch style).
    records: JSON only, the key of the record array inside a top-level object.
    include_non_ids: MISP only: also read attributes marked `to_ids: false` (context, not detection
        material, in MISP's own terms); by default they come out as skipped rows.
    fetch_pages: RSS/Atom only: each article asks the pipeline to fetch and extract the linked page
        too (RawArticle.fetch_page), for feeds whose entries carry only a summary.
    """

    columns: Mapping[str, str] = field(default_factory=dict)
    fieldnames: tuple[str, ...] | None = None
    records: str | None = None
    include_non_ids: bool = False
    fetch_pages: bool = False

    def column_for(self, field_name: str) -> str:
        return self.columns.get(field_name, field_name)


def record_from_mapping(location: str, row: Mapping[str, object], options: ReaderOptions) -> RawRecord:
    """Pick our fields out of a CSV row or JSON object; missing fields stay None."""
    values: dict[str, object] = {}
    for name in RECORD_FIELDS:
        raw = row.get(options.column_for(name))
        if raw is None or raw == "":
            continue
        values[name] = raw
    value = values.pop("value", "")
    return RawRecord(location, value, **values)  # type: ignore[arg-type]


class JsonBytes:
    """A stream as ijson wants it (readers of JSON documents share this): bytes, with a UTF-8
    byte-order mark dropped (yajl refuses one) and a text stream encoded back to UTF-8, so a caller
    that already decoded the body (any charset) can pass that instead. `first` is the document's
    first non-blank byte (b"{", b"[", ...; b"" when empty) for telling a bundle from a bare array."""

    _HEAD = 1 << 16

    def __init__(self, stream: IO[bytes] | IO[str]) -> None:
        self._stream = stream
        head = stream.read(self._HEAD)
        self._text = isinstance(head, str)
        data = head.encode("utf-8", "surrogatepass") if isinstance(head, str) else head
        self._head = data.removeprefix(codecs.BOM_UTF8)
        self.first = self._head.lstrip(b" \t\r\n")[:1]

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson probes the stream's type with read(0)
            return b""
        if self._head:
            data, self._head = self._head, b""
            return data
        chunk = self._stream.read(size)
        return chunk.encode("utf-8", "surrogatepass") if isinstance(chunk, str) else chunk


def json_error(exc: Exception) -> str:
    """The first line of a yajl message ("parse error: premature EOF"): the rest is a drawing."""
    text = exc.args[0] if exc.args else str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return str(text).strip().splitlines()[0] if str(text).strip() else type(exc).__name__
