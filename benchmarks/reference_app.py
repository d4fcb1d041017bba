"""The bare reference for api_bench.py: a minimal Starlette + orjson endpoint that runs the same SQL
as iocfeed for GET /api/v1/iocs (the sync clock, the page with its source, a count cached per data
version) and answers the same JSON shape, with a constant-time key check instead of iocfeed's auth,
rate limits, validation, cursors and middleware. iocfeed's throughput is reported as a fraction of
this one's, on the same requests.

    IOCFEED_BENCH_DATABASE_URL=sqlite:////tmp/bench.db IOCFEED_BENCH_KEY=sk_live_... \
        uvicorn benchmarks.reference_app:app --port 8002
"""

from __future__ import annotations

import hmac
import os

import orjson
from litestar.datastructures import MultiDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from iocfeed.api.params import parse_list_query
from iocfeed.config import DEFAULT_TIERS
from iocfeed.scoring import decayed_score
from iocfeed.store.engine import make_engine
from iocfeed.store.feed_reads import (
    BASE_SCORE,
    CONFIDENCE,
    CONTEXT,
    FIRST_SEEN,
    ID,
    INDUSTRIES,
    LAST_SEEN,
    MITRE,
    S_ARTICLE,
    S_REFERENCE,
    S_SOURCE,
    S_TITLE,
    S_URL,
    SOURCE_COUNT,
    STATUS,
    TAGS,
    TYPE,
    UPDATED_AT,
    VALUE,
    FeedReader,
)
from iocfeed.timeutil import format_us, now_us

engine = make_engine(os.environ["IOCFEED_BENCH_DATABASE_URL"])
reader = FeedReader(engine)
KEY = os.environ["IOCFEED_BENCH_KEY"].encode()
_totals: dict[tuple, tuple[int, int]] = {}


async def iocs(request: Request) -> Response:
    if not hmac.compare_digest(request.headers.get("x-api-key", "").encode(), KEY):
        return Response(b'{"error": "unauthorized"}', status_code=401, media_type="application/json")
    params = MultiDict(request.query_params.multi_items())
    query = parse_list_query(params, DEFAULT_TIERS["internal"], now_us())
    clock, rows = reader.read_page(query.filter, query.page)
    rows = rows[: query.page.limit]
    key = (query.count_parts(),)
    cached = _totals.get(key)
    if cached is None or cached[0] != clock:
        cached = _totals[key] = reader.count_at(query.filter)
    data = []
    now = now_us()
    for row in rows:  # the same record as iocfeed's, field for field
        source = reader.source(row[S_SOURCE])
        data.append(
            {
                "id": row[ID],
                "type": row[TYPE],
                "value": row[VALUE],
                "confidence": row[CONFIDENCE],
                "score": decayed_score(row[TYPE], row[BASE_SCORE], row[LAST_SEEN], now),
                "status": row[STATUS],
                "first_seen": format_us(row[FIRST_SEEN]),
                "last_seen": format_us(row[LAST_SEEN]),
                "updated_at": format_us(row[UPDATED_AT]),
                "source": {
                    "feed_name": source.name,
                    "category": source.category,
                    "origin": source.origin,
                    "article_id": row[S_ARTICLE],
                    "article_title": row[S_TITLE],
                    "article_url": row[S_URL],
                    "reference_url": row[S_REFERENCE],
                }
                if source
                else None,
                "source_count": row[SOURCE_COUNT],
                "industries": orjson.Fragment(row[INDUSTRIES]),
                "tags": orjson.Fragment(row[TAGS]),
                "mitre_techniques": orjson.Fragment(row[MITRE]),
                "context": row[CONTEXT],
            }
        )
    body = {"meta": {"total": cached[1], "limit": query.page.limit, "offset": 0}, "data": data}
    return Response(orjson.dumps(body), media_type="application/json")


app = Starlette(routes=[Route("/api/v1/iocs", iocs)])
