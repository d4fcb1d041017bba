"""RSS 2.0 (and 1.0) and Atom 1.0 feeds -> one RawArticle per item or entry.

    field        RSS item                                  Atom entry
    title        <title>                                   <title>
    url          <link>, else a permalink <guid>           <link rel="alternate"> (or no rel), else the first
    published    <pubDate>, else <dc:date>                 <published>, else <updated>        (as written)
    content      <content:encoded>, else <description>     <content>, else <summary>
    content_type html (descriptions are escaped HTML)      html for type="html"; text for text and xhtml
    tags         <category>, <dc:subject>                  <category term="…">
    fetch_page   ReaderOptions.fetch_pages (feeds whose entries carry only a summary)

Security: parsed with defusedxml, so a document that declares entities (billion laughs, quadratic
blow-up, external entities) is refused with ImportFormatError before anything is expanded. A bare
DOCTYPE is allowed: RSS 0.91 feeds carry Netscape's, it declares nothing and nothing fetches it.

The parser is given the bytes, so the document's own encoding declaration is honoured. Entries are
read one at a time and cleared after use; relative links (xml:base) are left as written.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from iocfeed.errors import ImportFormatError
from iocfeed.sources.records import RawArticle, ReaderOptions

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
DC = "{http://purl.org/dc/elements/1.1/}"
RSS1 = "{http://purl.org/rss/1.0/}"
_ROOTS = frozenset({"rss", "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}RDF", f"{ATOM}feed"})
_ITEMS = frozenset({"item", f"{RSS1}item", f"{ATOM}entry"})


def read(stream: IO[bytes] | IO[str], options: ReaderOptions | None = None) -> Iterator[RawArticle]:
    """The feed's items or entries in document order; ImportFormatError if it is not a feed, not
    well-formed, or declares entities."""
    options = options or ReaderOptions()
    count = 0
    root: Element | None = None
    try:
        for event, element in iterparse(
            stream, events=("start", "end"), forbid_dtd=False, forbid_entities=True, forbid_external=True
        ):
            if root is None:
                if element.tag not in _ROOTS:
                    raise ImportFormatError(
                        f"not an RSS or Atom feed: the document is <{_local(element.tag)}>"
                    )
                root = element
            if event != "end" or element.tag not in _ITEMS:
                continue
            count += 1
            if element.tag == f"{ATOM}entry":
                yield _entry(element, f"entry {count}", options)
            else:
                yield _item(element, f"item {count}", options)
            element.clear()  # the article is out: its text need not stay in the tree
    except DefusedXmlException as exc:
        raise ImportFormatError(
            f"refused: the feed declares XML entities ({type(exc).__name__}); "
            "expanding them is how an XML bomb works"
        ) from exc
    except ParseError as exc:
        raise ImportFormatError(f"the feed is not well-formed XML ({exc})") from exc


def _item(item: Element, location: str, options: ReaderOptions) -> RawArticle:
    namespace = RSS1 if item.tag.startswith(RSS1) else ""
    url = _text(item, f"{namespace}link")
    guid = item.find("guid")
    if not url and guid is not None and guid.get("isPermaLink", "true") != "false":
        url = _joined(guid)
    encoded = _text(item, f"{CONTENT}encoded")
    tags = [_joined(c) for c in (*item.findall(f"{namespace}category"), *item.findall(f"{DC}subject"))]
    return RawArticle(
        location=location,
        title=_text(item, f"{namespace}title") or "",
        url=url or "",
        published=_text(item, "pubDate") or _text(item, f"{DC}date"),
        content=encoded or _text(item, f"{namespace}description") or "",
        content_type="html",
        fetch_page=options.fetch_pages,
        tags=[tag for tag in tags if tag],
    )


def _entry(entry: Element, location: str, options: ReaderOptions) -> RawArticle:
    links = [link for link in entry.findall(f"{ATOM}link") if link.get("href")]
    alternate = [link for link in links if link.get("rel", "alternate") == "alternate"]
    chosen = (alternate or links or [None])[0]
    content, content_type = _atom_content(entry.find(f"{ATOM}content"))
    if not content:
        content, content_type = _atom_content(entry.find(f"{ATOM}summary"))
    return RawArticle(
        location=location,
        title=_text(entry, f"{ATOM}title") or "",
        url=chosen.get("href", "") if chosen is not None else "",
        published=_text(entry, f"{ATOM}published") or _text(entry, f"{ATOM}updated"),
        content=content,
        content_type=content_type,
        fetch_page=options.fetch_pages,
        tags=[term for c in entry.findall(f"{ATOM}category") if (term := (c.get("term") or "").strip())],
    )


def _atom_content(element: Element | None) -> tuple[str, str]:
    """Atom text constructs: type text (the default), html (escaped markup), xhtml (inline markup,
    whose text is kept); content by reference (src=) or of another media type is not text."""
    if element is None or element.get("src"):
        return "", "text"
    kind = element.get("type", "text")
    if kind in ("text", "html", "xhtml"):
        return _joined(element), "html" if kind == "html" else "text"
    return "", "text"


def _text(parent: Element, tag: str) -> str | None:
    child = parent.find(tag)
    return (_joined(child) or None) if child is not None else None


def _joined(element: Element) -> str:
    return "".join(element.itertext()).strip()


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]
