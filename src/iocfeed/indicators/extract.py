"""Extract indicators from free text: advisories, blog posts, tweets, IOC lists; text, HTML, Markdown.

    extract(text, content_type=None) -> list[Extracted]
    to_json_line(item, with_context=False) -> str

Each indicator comes once (by type and canonical value), in order of first appearance, with the
raw text it was read from, its offsets and its sentence. Types: ipv4, ipv6, domain, url, email,
md5, sha1, sha256, sha512, cve, mitre-attack (known ATT&CK technique, sub-technique and tactic ids).

Defanged forms read back (see `extract_patterns`): `hxxp` `hxxps` `fxp` `meow` `h**p` schemes;
`[.]` `(.)` `{.}` `[dot]` `(dot)` ` dot ` `\\.` dots (IP addresses defanged in every octet too);
`[:]` `[://]`; `[@]` `(at)` `[at]`; brackets, quotes and parentheses around values; trailing
punctuation; zero-width characters and soft hyphens; digests and URLs hard-wrapped over lines;
Markdown links (target and text) and backslash escapes; HTML links (href/src and text).

Decisions (the rules themselves are in `extract_rules`):

- A URL's host and an e-mail address's domain are not reported on their own, unless they also
  appear on their own. A bare IP address is an ipv4/ipv6, never a URL; `host:port` is the host.
  `host/path` without a scheme is a URL (`http://` assumed); `1.2.3.0/24` (a range) is nothing.
- A file name is not a domain: TLDs that are also file extensions (`.zip`, `.mov`, `.md`, `.sh`,
  `.py`, `.app`, `.one`, ...) count only when the name is defanged, in a URL or e-mail address,
  or starts with `www.`. Names under no public suffix (`invoice.pdf`, `update.ps1`) never count.
- A version number is not an IPv4 address when a version cue is next to it (`version 1.2.3.4`,
  `Chrome/120.0.0.0`, `1.2.3.4 and later`, and the rest of such a list).
- Dotted code identifiers (`System.Net`) and reverse-DNS package ids (`com.tencent.mm`) are not
  domains unless defanged; a spelled-out ` dot ` counts only outside English (`the dot com era`).
- Digests: exact lengths only, not part of a longer hex run, not a GUID (braces or a GUID label),
  not a hex dump; a digest named file (`<sha256>.exe`) is the digest.
- Offsets are character offsets into the string given. For HTML, `start` and `end` point into the
  markup (so `markup[start:end]` may hold tags or entities inside the value), while `raw` and
  `sentence` are the rendered text a reader sees.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from iocfeed.errors import InvalidParameter
from iocfeed.indicators.extract_context import Sentences
from iocfeed.indicators.extract_html import RenderedHtml, detect_content_type, looks_like_html, render_html
from iocfeed.indicators.extract_scan import Found, scan
from iocfeed.indicators.types import IndicatorType

CONTENT_TYPES = ("text", "html", "markdown")
__all__ = ["CONTENT_TYPES", "Extracted", "detect_content_type", "extract", "to_json_line"]


@dataclass(frozen=True, slots=True)
class Extracted:
    """One indicator found in a text: canonical value, the raw text, where, and its sentence."""

    type: IndicatorType
    value: str  # canonical
    raw: str  # as it appeared (for HTML: as rendered; a value wrapped over lines keeps its break)
    start: int  # offsets of the first occurrence in the input (for HTML: in the markup)
    end: int
    sentence: str  # the sentence around it, whitespace-collapsed, at most ~300 characters


def extract(text: str, content_type: str | None = None) -> list[Extracted]:
    """Every indicator in `text`, once each, in order of first appearance (see the module doc).

    `content_type` is "text", "html" or "markdown"; None detects HTML (`looks_like_html`).
    Markdown is read as text: link targets and link texts are both in it, and backslash escapes
    are undone.
    """
    kind = content_type if content_type is not None else ("html" if looks_like_html(text) else "text")
    if kind not in CONTENT_TYPES:
        raise InvalidParameter("content_type", f"Unknown content type {kind!r}.", allowed=list(CONTENT_TYPES))
    if kind == "html":
        return _extract_html(text)
    first: dict[tuple[IndicatorType, str], Found] = {}
    for found in scan(text):
        first.setdefault((found.type, found.value), found)
    if not first:
        return []
    sentences = Sentences(text)
    return [
        Extracted(f.type, f.value, text[f.start : f.end], f.start, f.end, sentences.around(f.start, f.end))
        for f in first.values()
    ]


def _extract_html(markup: str) -> list[Extracted]:
    rendered = render_html(markup)
    text = rendered.text
    sentences = Sentences(text)
    # (markup start, kind of source, item): text and link values merged in document order.
    candidates: list[tuple[int, int, Extracted]] = []
    for found in scan(text):
        start, end = rendered.source_span(found.start, found.end)
        sentence = sentences.around(found.start, found.end)
        raw = text[found.start : found.end]
        candidates.append((start, 1, Extracted(found.type, found.value, raw, start, end, sentence)))
    candidates.extend(_link_items(rendered, sentences))
    candidates.sort(key=lambda candidate: (candidate[0], candidate[1]))
    first: dict[tuple[IndicatorType, str], Extracted] = {}
    for _, _, item in candidates:
        first.setdefault((item.type, item.value), item)
    return list(first.values())


def _link_items(rendered: RenderedHtml, sentences: Sentences) -> list[tuple[int, int, Extracted]]:
    items = []
    for link in rendered.links:
        exact = link.source_end - link.source_start == len(link.value)
        sentence = sentences.around(link.text_position, link.text_position)
        for found in scan(link.value):
            if exact:
                start, end = link.source_start + found.start, link.source_start + found.end
            else:
                start, end = link.source_start, link.source_end
            raw = link.value[found.start : found.end]
            items.append((start, 0, Extracted(found.type, found.value, raw, start, end, sentence)))
    return items


def to_json_line(item: Extracted, with_context: bool = False) -> str:
    """`{"type": ..., "value": ...}`, plus `start`, `end` and `context` (the sentence) with context."""
    record: dict[str, str | int] = {"type": item.type.value, "value": item.value}
    if with_context:
        record.update(start=item.start, end=item.end, context=item.sentence)
    return json.dumps(record, ensure_ascii=False)
