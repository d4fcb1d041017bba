"""From an advisory or post to observations: extract its indicators, the sectors it says are
targeted and the ATT&CK techniques it cites, and tag each indicator with them.

What an analyst reads is the article's text, so that is what is searched: on a fetched page only its
main content (`<main>` or `<article>`; failing both, the page without navigation, header, footer and
asides), and never the targets of its links. Advisories and posts defang the indicators they mean;
live links are references, share buttons and navigation. For the same reason URLs and domains on the
article's own host are dropped.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

from iocfeed.indicators.extract import extract
from iocfeed.indicators.sector_model import cited_techniques, detect_sectors
from iocfeed.sources.files import open_text
from iocfeed.sources.records import RawArticle
from iocfeed.store.upsert import Observation
from iocfeed.timeutil import parse_instant, to_us

MAX_PAGE_CHARS = 5_000_000  # a 5 MB advisory page is already extraordinary
_MAIN_RE = re.compile(r"<(main|article)\b[^>]*>(.*)</\1\s*>", re.IGNORECASE | re.DOTALL)
_CHROME_RE = re.compile(r"<(nav|header|footer|aside)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_HEADING_RE = re.compile(r"^#\s+(.+)$", re.MULTILINE)
_LINK_TARGET_RE = re.compile(
    r"""\s(?:href|src|action|formaction|cite|data-src|data-href)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)""",
    re.IGNORECASE,
)


def readable_html(markup: str, *, whole_page: bool) -> str:
    """The part of the markup a reader reads, without link targets (see the module doc)."""
    if whole_page:
        main = _MAIN_RE.search(markup)
        markup = main.group(2) if main else _CHROME_RE.sub(" ", markup)
    return _LINK_TARGET_RE.sub("", markup)


@dataclass(frozen=True, slots=True)
class ArticleInput:
    article: RawArticle
    page_html: str | None = None  # the linked page, when the source fetches pages


@dataclass(slots=True)
class ArticleExtraction:
    title: str
    url: str
    published_at: int | None
    sectors: list[str]
    techniques: list[str]
    observations: list[Observation] = field(default_factory=list)


def article_from_file(path: Path, content_type: str) -> ArticleInput:
    """A prose file (an advisory saved as HTML, a Markdown report, text) is one article, titled by
    its <title> or first Markdown heading, else its file name."""
    with open_text(path) as stream:
        content = stream.read()
    title = path.stem
    if content_type == "html" and (match := _TITLE_RE.search(content)):
        title = " ".join(html.unescape(match.group(1)).split()) or title
    elif content_type == "markdown" and (match := _HEADING_RE.search(content)):
        title = match.group(1).strip()
    return ArticleInput(
        RawArticle("file", title, path.resolve().as_uri(), content=content, content_type=content_type)
    )


def published_instant(text: str | None) -> int | None:
    """RSS dates are RFC 822 ('Tue, 03 Jun 2025 12:00:00 GMT'), Atom's ISO 8601."""
    if not text or not text.strip():
        return None
    try:
        return parse_instant(text)
    except ValueError:
        pass
    try:
        return to_us(parsedate_to_datetime(text.strip()))
    except (TypeError, ValueError, IndexError):
        return None


def extract_article(
    item: ArticleInput, *, extra_tags: tuple[str, ...] = (), fixed_sectors: tuple[str, ...] = ()
) -> ArticleExtraction:
    article = item.article
    texts = []
    if article.content:
        content = article.content
        if article.content_type == "html":
            content = readable_html(content, whole_page=False)
        texts.append((content, article.content_type))
    if item.page_html:
        texts.append((readable_html(item.page_html[:MAX_PAGE_CHARS], whole_page=True), "html"))
    own_host = (urlsplit(article.url).hostname or "").lower()
    prose = " ".join([article.title, *(text for text, _ in texts)])
    sectors = sorted({*fixed_sectors, *(match.slug for match in detect_sectors(prose))})
    techniques = sorted(set(cited_techniques(prose)))
    published = published_instant(article.published)
    result = ArticleExtraction(article.title.strip(), article.url, published, sectors, techniques)
    seen: set[tuple[str, str]] = set()
    tags = tuple(sorted({t.strip().lower() for t in (*article.tags, *extra_tags) if t and t.strip()}))
    for text, content_type in texts:
        for found in extract(text, content_type):
            key = (found.type.value, found.value)
            if key in seen or _on_own_site(found.type.value, found.value, own_host):
                continue
            seen.add(key)
            result.observations.append(
                Observation(
                    type=found.type.value,
                    value=found.value,
                    raw_value=found.raw[:2048],
                    first_seen=published,
                    tags=tags,
                    industries=tuple(sectors),
                    mitre_techniques=tuple(techniques),
                    context=(found.sentence or result.title)[:1000] or None,
                    reference_url=article.url,
                )
            )
    return result


def _on_own_site(indicator_type: str, value: str, own_host: str) -> bool:
    if not own_host:
        return False
    if indicator_type == "domain":
        host = value
    elif indicator_type == "url":
        try:
            host = (urlsplit(value).hostname or "").lower()
        except ValueError:
            return False
    else:
        return False
    return host == own_host or host.endswith("." + own_host) or own_host.endswith("." + host)
