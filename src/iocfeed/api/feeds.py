"""GET /api/v1/feeds: the configured sources, their last run, health and counts."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, get

from iocfeed.api.auth import authenticate
from iocfeed.api.serialize import encode_json
from iocfeed.api.services import services
from iocfeed.store.catalog import list_sources
from iocfeed.timeutil import format_us


class FeedOut(msgspec.Struct):
    name: str
    category: str
    origin: str
    reliability: int
    format: str | None
    url: str | None
    enabled: bool
    last_run_at: str | None
    last_success_at: str | None
    health: str
    indicator_count: int


@get(
    "/api/v1/feeds",
    summary="The configured sources: category, origin, last run, health, counts",
    tags=["feeds"],
    sync_to_thread=True,
)
def list_feeds(request: Request) -> Response[bytes]:
    svc = services(request)
    authenticate(request, svc)
    with svc.read_engine.connect() as connection:
        rows = list_sources(connection)
    data = [
        FeedOut(
            name=row.name,
            category=row.category,
            origin=row.origin,
            reliability=row.reliability,
            format=row.format,
            url=row.url,
            enabled=row.enabled,
            last_run_at=format_us(row.last_run_at),
            last_success_at=format_us(row.last_success_at),
            health=row.health,
            indicator_count=row.indicator_count,
        )
        for row in rows
    ]
    return Response(encode_json({"data": data, "meta": {"total": len(data)}}), media_type="application/json")
