"""GET /api/v1/articles and /api/v1/articles/{id}: the advisories and posts indicators came from."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, Response, get
from litestar.params import PathParameter, QueryParameter

from iocfeed.api.auth import authenticate
from iocfeed.api.serialize import encode_json, indicator_out
from iocfeed.api.services import services
from iocfeed.errors import InvalidParameter
from iocfeed.store.articles import ArticleRow, get_article, list_articles
from iocfeed.store.queries import choose_source, fetch_sources, list_page_by_ids
from iocfeed.timeutil import format_us, now_us

MAX_ARTICLES_PAGE = 500


class ArticleOut(msgspec.Struct):
    id: str
    title: str
    url: str
    published_at: str | None
    created_at: str
    source: dict[str, str]
    sectors: list[str]
    mitre_techniques: list[str]
    indicator_count: int


def article_out(row: ArticleRow) -> ArticleOut:
    return ArticleOut(
        id=row.id,
        title=row.title,
        url=row.url,
        published_at=format_us(row.published_at),
        created_at=format_us(row.created_at) or "",
        source={"feed_name": row.source_name, "category": row.source_category},
        sectors=row.sectors,
        mitre_techniques=row.mitre_techniques,
        indicator_count=row.indicator_count,
    )


def _bounded_int(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    """A whole number >= low; values above high are lowered to it (like the feed's limit)."""
    if raw is None or not raw.strip():
        return default
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise InvalidParameter(name, f"{name} must be a whole number from {low}; got {text[:64]!r}.")
    value = int(text)
    if value < low:
        raise InvalidParameter(name, f"{name} must be at least {low}.")
    return min(value, high)


@get(
    "/api/v1/articles",
    summary="Advisories and posts that indicators were extracted from, newest first",
    tags=["articles"],
    sync_to_thread=True,
)
def list_articles_handler(
    request: Request,
    limit: Annotated[str | None, QueryParameter(required=False, description="1..500 (default 50)")] = None,
    offset: Annotated[str | None, QueryParameter(required=False, description=">= 0")] = None,
    source: Annotated[
        str | None, QueryParameter(required=False, description="only this source (feed_name)")
    ] = None,
) -> Response[bytes]:
    svc = services(request)
    authenticate(request, svc)
    page_size = _bounded_int(limit, "limit", 50, 1, MAX_ARTICLES_PAGE)
    start = _bounded_int(offset, "offset", 0, 0, 10_000_000)
    with svc.read_engine.connect() as connection:
        rows, total = list_articles(connection, limit=page_size, offset=start, source=source or None)
    body = {
        "meta": {"total": total, "limit": page_size, "offset": start},
        "data": [article_out(r) for r in rows],
    }
    return Response(encode_json(body), media_type="application/json")


@get(
    "/api/v1/articles/{article_id:str}",
    summary="One article with the indicators extracted from it",
    tags=["articles"],
    sync_to_thread=True,
)
def get_article_handler(
    request: Request, article_id: Annotated[str, PathParameter(description="the article id")]
) -> Response[bytes]:
    svc = services(request)
    authenticate(request, svc)
    now = now_us()
    with svc.read_engine.connect() as connection:
        row, indicator_ids = get_article(connection, article_id.strip().lower())
        indicators = list_page_by_ids(connection, indicator_ids)
        refs = fetch_sources(connection, {r.best_sighting for r in indicators if r.best_sighting is not None})
    data = msgspec.structs.asdict(article_out(row))
    data["indicators"] = [
        indicator_out(r, choose_source([refs[r.best_sighting]] if r.best_sighting in refs else []), now)
        for r in indicators
    ]
    return Response(encode_json({"data": data}), media_type="application/json")
