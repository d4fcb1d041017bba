"""HTML to the text a reader sees, with a map back to the markup, for the extractor.

Rendering with the standard library's `html.parser`: the text content (script, style and template
dropped; entities decoded, so `evil&#46;com` reads `evil.com`), a paragraph break for every block
element and a tab between table cells (so `<td>1.2.3.4</td><td>evil.com</td>` stays two values),
nothing for inline elements (so `evil<b>[.]</b>com` and `<wbr>`/`&shy;` soft wraps stay one). Link
targets are kept apart: the values of `href`, `src` and similar attributes, each with its place in
the markup and the place in the text where its element starts.

Offsets: `source_span` maps a span of the rendered text to the span of markup that produced it,
so an extractor can report offsets into the document it was given.
"""

from __future__ import annotations

import bisect
import html
import re
from html.parser import HTMLParser
from typing import NamedTuple

_SKIPPED = frozenset({"script", "style", "template"})
# fmt: off
_INLINE = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "font", "i", "ins",
    "kbd", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "tt", "u", "var",
    "wbr", "label"
})
# fmt: on
_CELLS = frozenset({"td", "th"})
_LINK_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "cite", "data-src", "data-href"})
_ENTITY_RE = re.compile(r"&#?[0-9A-Za-z]+;?")


class LinkValue(NamedTuple):
    """An attribute value that names a link target, and where it is."""

    value: str
    text_position: int  # where the element starts in the rendered text
    source_start: int  # the value's span in the markup
    source_end: int


class RenderedHtml(NamedTuple):
    text: str
    links: list[LinkValue]
    # Rendered-text offset where each piece starts, its markup offset, and (for a decoded entity)
    # the entity's length in the markup; 0 for literal text, which maps character for character.
    piece_text_starts: list[int]
    piece_sources: list[tuple[int, int]]

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The markup span that renders as `text[start:end]`."""
        if not self.piece_text_starts:
            return start, end
        return self._source_of(start, is_end=False), self._source_of(end - 1, is_end=True)

    def _source_of(self, offset: int, *, is_end: bool) -> int:
        index = max(0, bisect.bisect_right(self.piece_text_starts, offset) - 1)
        source, entity_length = self.piece_sources[index]
        if entity_length:
            return source + entity_length if is_end else source
        return source + (offset - self.piece_text_starts[index]) + (1 if is_end else 0)


class _Renderer(HTMLParser):
    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=False)
        self.markup = markup
        self.line_starts = [0, *(match.end() for match in re.finditer("\n", markup))]
        self.parts: list[str] = []
        self.length = 0
        self.piece_text_starts: list[int] = []
        self.piece_sources: list[tuple[int, int]] = []
        self.links: list[LinkValue] = []
        self.skipping = 0

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def _emit(self, text: str, source: int, entity_length: int) -> None:
        self.piece_text_starts.append(self.length)
        self.piece_sources.append((source, entity_length))
        self.parts.append(text)
        self.length += len(text)

    def _separate(self, separator: str) -> None:
        # Separators map to the tag that caused them; they never fall inside a value.
        self._emit(separator, self._offset(), 1)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
            return
        self._record_links(attrs)
        if tag in _CELLS:
            self._separate("\t")
        elif tag == "br":
            self._separate("\n")
        elif tag not in _INLINE:
            self._separate("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in _SKIPPED:
            self.skipping -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _CELLS:
            self._separate("\t")
        elif tag not in _INLINE and tag != "br":
            self._separate("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self._emit(data, self._offset(), 0)

    def handle_entityref(self, name: str) -> None:
        self._entity()

    def handle_charref(self, name: str) -> None:
        self._entity()

    def _entity(self) -> None:
        if self.skipping:
            return
        source = self._offset()
        match = _ENTITY_RE.match(self.markup, source)
        raw = match.group() if match else "&"
        self._emit(html.unescape(raw), source, len(raw))

    def _record_links(self, attrs: list[tuple[str, str | None]]) -> None:
        tag_start = self._offset()
        tag_text = self.get_starttag_text() or ""
        for name, value in attrs:
            if name not in _LINK_ATTRIBUTES or not value:
                continue
            raw = re.search(rf"(?i)\b{re.escape(name)}\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", tag_text)
            if raw is None:  # cannot happen for a parsed attribute; point at the whole tag
                start, end = tag_start, tag_start + len(tag_text)
            else:
                group = next(index for index in (1, 2, 3) if raw.group(index) is not None)
                start, end = tag_start + raw.start(group), tag_start + raw.end(group)
            self.links.append(LinkValue(value, self.length, start, end))


def render_html(markup: str) -> RenderedHtml:
    """The text of `markup` as a reader sees it, its link targets, and the offset map."""
    renderer = _Renderer(markup)
    renderer.feed(markup)
    renderer.close()
    return RenderedHtml(
        "".join(renderer.parts), renderer.links, renderer.piece_text_starts, renderer.piece_sources
    )


_HTML_START_RE = re.compile(r"\s*(?:<!doctype\s+html|<html[\s>]|<\?xml[^>]*>\s*<html)", re.IGNORECASE)
_HTML_TAG_RE = re.compile(
    r"</(?:p|div|span|a|td|tr|li|ul|table|h[1-6]|body|strong|em|code|pre)>", re.IGNORECASE
)
_MARKDOWN_RE = re.compile(r"^(?:#{1,6} |```|\|[ :-]*-{3})|\]\([a-z]+:|^\s*[-*] \S", re.MULTILINE)


def looks_like_html(text: str) -> bool:
    """A document that starts as HTML, or has more closing block tags than Markdown marks
    (headings, fences, links, tables) in its first 8 KB."""
    head = text[:8192]
    if _HTML_START_RE.match(head):
        return True
    if head.count("</") < 3:  # the common case, answered without a regex
        return False
    closing_tags = len(_HTML_TAG_RE.findall(head))
    return closing_tags >= 3 and closing_tags > len(_MARKDOWN_RE.findall(head))


def detect_content_type(text: str) -> str:
    """ "html", "markdown" or "text" (Markdown and text are read alike; the CLI may show it)."""
    if looks_like_html(text):
        return "html"
    return "markdown" if _MARKDOWN_RE.search(text[:8192]) else "text"
