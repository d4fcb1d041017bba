"""GET /api/v1/iocs/search and GET /api/v1/lookup: finding indicators by value.

Input is canonicalized the way the pipeline canonicalizes feeds (defanged values accepted), so
`hxxp://Evil[.]com` finds `http://evil.com/`. `found: false` means "not known to this feed", never
"safe".
"""

from __future__ import annotations

from typing import Annotated

from litestar import Request, Response, get
from litestar.params import QueryParameter

from iocfeed.api.auth import authenticate
from iocfeed.api.indicator_detail import indicator_detail
from iocfeed.api.serialize import encode_json, indicator_out
from iocfeed.api.services import services
from iocfeed.errors import InvalidIndicator, InvalidParameter
from iocfeed.hunting import hunting_queries
from iocfeed.indicators import canonicalize_any
from iocfeed.indicators.types import ALL_TYPES, parse_type
from iocfeed.store.queries import get_indicator, with_sources
from iocfeed.store.search import find_exact, find_related, find_substring
from iocfeed.timeutil import now_us

MAX_QUERY_LENGTH = 2_048
SEARCH_LIMIT = 50
MIN_SUBSTRING = 3


def _type_hint(raw: str | None):  # type: ignore[no-untyped-def]
    if raw is None or not raw.strip():
        return None
    hint = parse_type(raw) if raw.strip().lower() in (*ALL_TYPES, "mitre_attack") else None
    if hint is None:
        raise InvalidParameter(
            "type", f"type must be one of {', '.join(ALL_TYPES)}.", allowed=list(ALL_TYPES)
        )
    return hint


def _bounded(raw: str | None, name: str) -> str:
    text = (raw or "").strip()
    if not text:
        raise InvalidParameter(name, f"{name} is required.")
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidParameter(name, f"{name} is longer than {MAX_QUERY_LENGTH} characters.")
    return text


@get(
    "/api/v1/iocs/search",
    summary="Find indicators by value: exact (canonicalized), then substring",
    tags=["indicators"],
    sync_to_thread=True,
)
def search(
    request: Request,
    q: Annotated[
        str | None, QueryParameter(required=False, description="a value, defanged or not, or a fragment")
    ] = None,
    include_related: Annotated[
        str | None,
        QueryParameter(required=False, description="true: add up to 10 indicators from the same articles"),
    ] = None,
) -> Response[bytes]:
    svc = services(request)
    authenticate(request, svc)
    text = _bounded(q, "q")
    related_wanted = (include_related or "").strip().lower() in ("1", "true", "yes")
    candidates = []
    try:
        canonical = canonicalize_any(text)
        candidates.append((canonical.type.value, canonical.value))
    except InvalidIndicator:
        pass
    now = now_us()
    with svc.read_engine.connect() as connection:
        exact = find_exact(connection, candidates)
        substring = []
        if len(text) >= MIN_SUBSTRING:
            fragment = candidates[0][1] if candidates else text.lower()
            substring = find_substring(
                connection, fragment, limit=SEARCH_LIMIT, exclude={r.pk for r in exact}
            )
        related = (
            find_related(connection, [r.pk for r in exact + substring][:SEARCH_LIMIT])
            if related_wanted
            else []
        )
        everything = exact + substring + related
        sourced = {row.pk: source for row, source in with_sources(connection, everything, None)}
    body = {
        "meta": {"q": text, "exact": len(exact), "substring": len(substring), "related": len(related)},
        "data": [
            {"match": kind, **_as_dict(indicator_out(row, sourced.get(row.pk), now))}
            for kind, rows in (("exact", exact), ("substring", substring), ("related", related))
            for row in rows
        ],
    }
    return Response(encode_json(body), media_type="application/json")


def _as_dict(record) -> dict:  # type: ignore[no-untyped-def]
    return {name: getattr(record, name) for name in record.__struct_fields__}


@get(
    "/api/v1/lookup",
    summary="Everything known about one value, with hunting queries (not found is not safe)",
    tags=["indicators"],
    sync_to_thread=True,
)
def lookup(
    request: Request,
    value: Annotated[
        str | None, QueryParameter(required=False, description="the value, defanged or not")
    ] = None,
    type_: Annotated[
        str | None,
        QueryParameter(name="type", required=False, description="its type, if detection would guess wrong"),
    ] = None,
) -> Response[bytes]:
    svc = services(request)
    authenticate(request, svc)
    text = _bounded(value, "value")
    try:
        canonical = canonicalize_any(text, _type_hint(type_))
    except InvalidIndicator as exc:
        raise InvalidParameter("value", f"Not an indicator: {exc.reason}") from None
    queries = hunting_queries(canonical.type.value, canonical.value)
    hunting = {"splunk_spl": queries.splunk_spl, "sentinel_kql": queries.sentinel_kql}
    with svc.read_engine.connect() as connection:
        rows = find_exact(connection, [(canonical.type.value, canonical.value)])
        refs = get_indicator(connection, rows[0].id)[1] if rows else []
    if not rows:
        body = {
            "found": False,
            "type": canonical.type.value,
            "value": canonical.value,
            "note": "Not known to this feed. That is not the same as safe.",
            "hunting_queries": hunting,
        }
    else:
        body = {"found": True, **indicator_detail(rows[0], refs, now_us()), "hunting_queries": hunting}
    return Response(encode_json({"data": body}), media_type="application/json")
