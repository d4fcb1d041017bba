"""GET /api/v1/iocs/stats (pro): feed statistics, cached and refreshed in the background.

The figures take a few GROUP BY passes over the whole store, so they are computed at most once per
STATS_TTL_SECONDS per process: a fresh copy is served as a `hit`; an older one is served at once as
`stale` while a background thread computes the next; only the very first request waits (`miss`).
`X-Cache-Status`, `X-Cache-Age` (seconds) and `X-Cache-Generated-At` say which.
"""

from __future__ import annotations

from litestar import Request, Response, get

from iocfeed.api.auth import authenticate, require_feature
from iocfeed.api.serialize import encode_json
from iocfeed.api.services import services
from iocfeed.store.stats import FeedStats
from iocfeed.timeutil import format_us


@get(
    "/api/v1/iocs/stats",
    summary="Counts by type, category, source and sector; 24 h and 7 d trends; feed health",
    tags=["indicators"],
    sync_to_thread=True,
)
def feed_stats(request: Request) -> Response[bytes]:
    svc = services(request)
    caller = authenticate(request, svc)
    require_feature(caller, caller.tier.exports, "stats")
    stats, generated_at, status, age = svc.stats.get(svc)
    body = _as_dict(stats)
    body["feeds"] = [{**feed, "last_run_at": format_us(feed["last_run_at"])} for feed in stats.feeds]
    headers = {
        "X-Cache-Status": status,
        "X-Cache-Age": str(int(age)),
        "X-Cache-Generated-At": format_us(generated_at) or "",
    }
    return Response(
        encode_json({"data": body, "meta": {"generated_at": format_us(generated_at)}}),
        media_type="application/json",
        headers=headers,
    )


def _as_dict(stats: FeedStats) -> dict:
    return {name: getattr(stats, name) for name in stats.__slots__}  # type: ignore[attr-defined]
