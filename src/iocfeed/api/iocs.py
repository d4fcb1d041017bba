"""GET /api/v1/iocs (the feed) and GET /api/v1/iocs/{id} (one indicator with all its sources)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, unquote_plus

import anyio
from litestar import Request, Response, get
from litestar.params import PathParameter, QueryParameter

from iocfeed.api.auth import authenticate, require_feature
from iocfeed.api.cursor import filters_digest, make_cursor, read_cursor
from iocfeed.api.indicator_detail import indicator_detail
from iocfeed.api.params import parse_list_query
from iocfeed.api.serialize import (
    IndicatorOut,
    Links,
    ListResponse,
    Meta,
    encode_csv,
    encode_json,
    encode_ndjson,
    encode_txt,
    records_from_rows,
)
from iocfeed.api.services import Services, services
from iocfeed.store.feed_reads import FIRST_SEEN, LAST_SEEN, PK, UPDATED_AT
from iocfeed.store.queries import PageRequest, get_indicator
from iocfeed.timeutil import format_us, now_us

MEDIA_TYPES = {
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
}


@get(
    "/api/v1/iocs",
    summary="List indicators of compromise",
    description=(
        "The feed: one record per distinct indicator, filtered and paged. Delta clients pass `since` "
        "(updated strictly after; clamped to the tier's lookback), follow `meta.next_cursor` until it is "
        "null, then poll again with `since` = `meta.sync_since`: nothing is missed, even while ingestion "
        "writes. Enum filters take comma lists. Non-json formats need the pro tier; for them the paging "
        "metadata is in the X-Total-Count, X-Next-Cursor and X-Sync-Since headers and a Link header."
    ),
    tags=["indicators"],
)
async def list_iocs(
    request: Request,
    type_: Annotated[
        str | None,
        QueryParameter(
            name="type",
            required=False,
            description="ipv4 ipv6 domain url md5 sha1 sha256 sha512 cve mitre-attack email (comma list)",
        ),
    ] = None,
    confidence: Annotated[
        str | None, QueryParameter(required=False, description="high medium low (comma list)")
    ] = None,
    min_confidence: Annotated[
        str | None, QueryParameter(required=False, description="low medium high")
    ] = None,
    category: Annotated[
        str | None, QueryParameter(required=False, description="government commercial community (comma list)")
    ] = None,
    industry: Annotated[
        str | None, QueryParameter(required=False, description="CISA sector slug (comma list)")
    ] = None,
    since: Annotated[str | None, QueryParameter(required=False, description="ISO 8601 timestamp")] = None,
    status: Annotated[
        str | None,
        QueryParameter(required=False, description="active (default) expired false-positive revoked all"),
    ] = None,
    sort: Annotated[
        str | None,
        QueryParameter(
            required=False, description="updated_at -updated_at first_seen -first_seen last_seen -last_seen"
        ),
    ] = None,
    limit: Annotated[
        str | None, QueryParameter(required=False, description="1..tier cap (default 100)")
    ] = None,
    offset: Annotated[str | None, QueryParameter(required=False, description=">= 0 (default 0)")] = None,
    cursor: Annotated[
        str | None, QueryParameter(required=False, description="meta.next_cursor of the previous page")
    ] = None,
    format_: Annotated[
        str | None, QueryParameter(name="format", required=False, description="json (default) ndjson csv txt")
    ] = None,
) -> Response[bytes]:
    svc = services(request)
    if _runs_inline(request, svc):
        return _list_response(request, svc)
    return await anyio.to_thread.run_sync(_list_response, request, svc)


# A small page on SQLite costs less than handing it to a worker thread and back; large pages and
# PostgreSQL (which waits on the network) go to a thread so the event loop keeps serving.
INLINE_MAX_LIMIT = 1_000


def _runs_inline(request: Request, svc: Services) -> bool:
    if svc.read_engine.dialect.name != "sqlite":
        return False
    raw = request.query_params.get("limit")
    return raw is None or (raw.isdigit() and len(raw) < 6 and int(raw) <= INLINE_MAX_LIMIT)


def _list_response(request: Request, svc: Services) -> Response[bytes]:
    caller = authenticate(request, svc)
    now = now_us()
    query = parse_list_query(request.query_params, caller.tier, now)
    require_feature(caller, caller.tier.allows_format(query.format), f"format={query.format}")
    digest = filters_digest(query.digest_parts())
    page = query.page
    sort_key = page.sort + ("-" if page.descending else "")
    if query.cursor is not None:
        position = read_cursor(svc.keyring, query.cursor, sort_key, digest)
        page = PageRequest(page.sort, page.descending, page.limit, 0, position)

    # The sync clock is read before the rows (store.writer explains why this order is lossless).
    sync_clock, rows = svc.feed.read_page(query.filter, page)
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    total = svc.totals.get_or_count(
        filters_digest(query.count_parts()), sync_clock, lambda: svc.feed.count_at(query.filter)
    )
    records = records_from_rows(rows, svc.feed, now)
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        next_cursor = make_cursor(svc.keyring, sort_key, last[SORT_INDEX[page.sort]], last[PK], digest)
    sync_since = format_us(sync_clock) or "1970-01-01T00:00:00Z"
    if query.format == "json":
        body = ListResponse(
            meta=Meta(
                total=total,
                limit=page.limit,
                offset=page.offset,
                generated_at=format_us(now) or "",
                next_cursor=next_cursor,
                sync_since=sync_since,
                filters=query.echo,
                limit_requested=query.requested_limit if query.requested_limit != page.limit else None,
            ),
            data=records,
            links=Links(self=str(request.url), next=_next_link(request, next_cursor)),
        )
        return Response(encode_json(body), media_type=MEDIA_TYPES["json"])
    headers = {"X-Total-Count": str(total), "X-Sync-Since": sync_since}
    if next_cursor is not None:
        headers["X-Next-Cursor"] = next_cursor
        headers["Link"] = f'<{_next_link(request, next_cursor)}>; rel="next"'
    return Response(
        _encode_format(query.format, records), media_type=MEDIA_TYPES[query.format], headers=headers
    )


SORT_INDEX = {"updated_at": UPDATED_AT, "first_seen": FIRST_SEEN, "last_seen": LAST_SEEN}


def _encode_format(fmt: str, records: list[IndicatorOut]) -> bytes:
    if fmt == "ndjson":
        return encode_ndjson(records)
    if fmt == "csv":
        return encode_csv(records)
    return encode_txt(records)


def _next_link(request: Request, next_cursor: str | None) -> str | None:
    if next_cursor is None:
        return None
    # The client's own query string minus cursor and offset, as it was encoded: cheaper than
    # decoding and re-encoding every parameter (a third of a small page's non-SQL time).
    kept = [
        pair
        for pair in request.scope["query_string"].decode("latin-1").split("&")
        if pair and _param_name(pair) not in ("cursor", "offset")
    ]
    kept.append(f"cursor={quote(next_cursor, safe='')}")
    return f"{request.base_url}{request.url.path.lstrip('/')}?{'&'.join(kept)}"


def _param_name(pair: str) -> str:
    name = pair.partition("=")[0]
    return unquote_plus(name) if "%" in name or "+" in name else name


@get(
    "/api/v1/iocs/{indicator_id:str}",
    summary="One indicator with all its sources and its score breakdown",
    tags=["indicators"],
    sync_to_thread=True,
)
def get_ioc(
    request: Request, indicator_id: Annotated[str, PathParameter(description="the indicator id")]
) -> Response[bytes]:
    svc = services(request)
    authenticate(request, svc)
    with svc.read_engine.connect() as connection:
        row, refs = get_indicator(connection, indicator_id.strip().lower())
    body = {"data": indicator_detail(row, refs, now_us())}
    return Response(encode_json(body), media_type=MEDIA_TYPES["json"])
