"""The web console's routes: `/` redirects to `/ui/`, which serves one static page of our own HTML,
CSS and JavaScript (src/iocfeed/ui/) that works entirely through the public API.

    GET /                            302 to /ui/
    GET /ui/                         the console (hash-routed: #/feed, #/ioc/<id>, #/feeds, #/keys, ...)
    GET /ui/assets/<version>/<file>  its scripts and styles, cacheable for a year (see ui_assets)
    GET /ui/session                  who the key is: account and tier limits (drives tier messages)
    GET /ui/feeds/sparklines.svg     indicators per day per source, drawn as SVG (?days=30&source=)

The last two need the API key like the API does (Authorization: Bearer, never a URL or cookie) and
count against its rate limit. None of these routes is part of the OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Request, Response, get
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect

from iocfeed.api.auth import authenticate
from iocfeed.api.serialize import encode_json
from iocfeed.api.services import services
from iocfeed.api.ui_assets import (
    IMMUTABLE,
    PRIVATE,
    REVALIDATE,
    SECURITY_HEADERS,
    Asset,
    headers_for,
    load_assets,
)
from iocfeed.api.ui_sparkline import ActivityCache, sparklines_document
from iocfeed.errors import InvalidParameter, NotFound
from iocfeed.store.activity import MAX_ACTIVITY_DAYS
from iocfeed.timeutil import now_us

DEFAULT_ACTIVITY_DAYS = 30


def _asset_response(request: Request, asset: Asset, cache_control: str) -> Response[bytes]:
    headers = headers_for(cache_control, asset.etag)
    if request.headers.get("if-none-match") == asset.etag:
        return Response(b"", status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@get("/", include_in_schema=False, sync_to_thread=False)
def root_redirect() -> Redirect:
    return Redirect("/ui/", status_code=302, headers=dict(SECURITY_HEADERS))


@get("/ui", include_in_schema=False, sync_to_thread=False)
def console_page(request: Request) -> Response[bytes]:
    return _asset_response(request, load_assets().index, REVALIDATE)


@get("/ui/assets/{version:str}/{name:str}", include_in_schema=False, sync_to_thread=False)
def console_asset(
    request: Request,
    version: Annotated[str, PathParameter()],
    name: Annotated[str, PathParameter()],
) -> Response[bytes]:
    bundle = load_assets()
    asset = bundle.files.get(name)  # a fixed set of names: no path is ever built from the request
    if asset is None:
        raise NotFound(f"no console file named {name!r}")
    # An old page asking for an old version gets today's file, but must not keep it for a year.
    return _asset_response(request, asset, IMMUTABLE if version == bundle.version else REVALIDATE)


@get("/ui/session", include_in_schema=False, sync_to_thread=True)
def console_session(request: Request) -> Response[bytes]:
    """The signed-in key's account and what its tier allows: the console shows limits and hides
    features the tier lacks instead of letting a download fail."""
    svc = services(request)
    caller = authenticate(request, svc)
    tier = caller.tier
    body = {
        "data": {
            "account": caller.account_name,
            "key_id": caller.key_id,
            "tier": {
                "name": tier.name,
                "requests_per_minute": tier.requests_per_minute,
                "requests_per_day": tier.requests_per_day,
                "max_limit": tier.max_limit,
                "lookback_days": tier.lookback_days,
                "formats": list(tier.formats),
                "exports": tier.exports,
                "max_export": tier.max_export,
                "key_quota": tier.key_quota,
            },
        }
    }
    return Response(encode_json(body), media_type="application/json", headers=headers_for(PRIVATE))


@get("/ui/feeds/sparklines.svg", include_in_schema=False, sync_to_thread=True)
def feed_sparklines(
    request: Request,
    days: Annotated[str | None, QueryParameter(required=False)] = None,
    source: Annotated[str | None, QueryParameter(required=False)] = None,
) -> Response[bytes]:
    svc = services(request)
    authenticate(request, svc)
    window_days = _activity_days(days)
    cache = request.app.state.get("ui_activity_cache")
    if cache is None:  # one per app; a duplicate made by a concurrent first request is harmless
        cache = request.app.state["ui_activity_cache"] = ActivityCache()
    window = cache.window(svc.read_engine, now_us(), window_days)
    if source is not None and source not in {s.name for s in window.sources}:
        raise NotFound(f"no source named {source!r}")
    return Response(
        sparklines_document(window, source), media_type="image/svg+xml", headers=headers_for(PRIVATE)
    )


def _activity_days(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return DEFAULT_ACTIVITY_DAYS
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 3 or not 1 <= int(text) <= MAX_ACTIVITY_DAYS:
        raise InvalidParameter("days", f"days must be a whole number from 1 to {MAX_ACTIVITY_DAYS}.")
    return int(text)


ROUTES = [root_redirect, console_page, console_asset, console_session, feed_sparklines]
