"""Is a fetched body what the source promised, and how is it decoded into text?

Feeds fail in ways HTTP calls success: a login or maintenance page served with 200 where a CSV was
expected, a JSON export that is really an error string. `check_content` catches those before a reader
turns an HTML page into "indicators". `text_stream` picks the text encoding: a byte-order mark first
(it cannot lie), then the charset the server declared, then UTF-8.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import TextIO

from iocfeed.errors import FetchError
from iocfeed.sources.fetch import FetchResult, parse_content_type
from iocfeed.sources.urls import sanitize_url

JSON_FORMATS = frozenset({"json", "jsonl", "stix", "misp", "taxii"})
_HTML_STARTS = ("<!doctype html", "<html")
_HEAD_BYTES = 4096
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def choose_encoding(head: bytes, declared: str | None) -> str:
    """A Python codec name for a body starting with `head`, given the charset its server declared."""
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec
    if declared:
        try:
            name = codecs.lookup(declared).name
        except LookupError:  # a charset Python does not know: UTF-8 is the best guess
            name = "utf-8"
        return "utf-8-sig" if name == "utf-8" else name
    # No BOM, no charset: ASCII text in UTF-16 shows as every other byte being NUL.
    if len(head) >= 4 and head[1] == head[3] == 0 and head[0] and head[2]:
        return "utf-16-le"
    if len(head) >= 4 and head[0] == head[2] == 0 and head[1] and head[3]:
        return "utf-16-be"
    return "utf-8-sig"


def text_stream(result: FetchResult) -> TextIO:
    """The fetched body as text. Undecodable bytes become U+FFFD (the row holding them is rejected
    later, not the feed); newline="" so the csv module sees quoted line breaks as they are."""
    if result.path is None:
        raise ValueError(f"no body to read: the fetch of {result.url} was {result.status}")
    encoding = choose_encoding(_read_head(result.path), result.encoding)
    return open(result.path, encoding=encoding, errors="replace", newline="")


def check_content(
    path: Path, expected_format: str, content_type: str | None, *, url: str | None = None
) -> None:
    """Raise FetchError when the body at `path` plainly is not `expected_format` (csv, txt, json, ...):
    an HTML page where a feed was expected, or JSON that does not start with `{` or `[`."""
    subject = sanitize_url(url) if url else str(path.name)
    expected = expected_format.lower()
    if expected == "html":
        return
    media_type, charset = parse_content_type(content_type)
    head_bytes = _read_head(path)
    head = head_bytes.decode(choose_encoding(head_bytes, charset), errors="replace")
    start = head.lstrip(" \t\r\n\ufeff")
    if media_type == "text/html" or start.lower().startswith(_HTML_STARTS):
        raise FetchError(
            f"{subject} returned an HTML page where {expected} was expected", url=url and subject
        )
    if expected in JSON_FORMATS and not start.startswith(("{", "[")):
        shown = repr(start[:40]) if start else "an empty body"
        raise FetchError(f"{subject} returned {shown} where {expected} was expected", url=url and subject)


def _read_head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(_HEAD_BYTES)
