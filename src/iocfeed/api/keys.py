"""The calling key's account manages its keys: list, mint, revoke, and see each key's usage.

GET    /api/v1/keys                  the account's keys (prefixes only) and its quota
POST   /api/v1/keys                  {"name": "...", "expires_in_days": 90} -> the key, shown once
DELETE /api/v1/keys/{id}             revoke (optional {"reason": "..."}); effective on the next request
GET    /api/v1/keys/{id}/usage?days= requests per day, status mix, latency percentiles
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.params import Body, PathParameter, QueryParameter

from iocfeed.api.auth import Caller, authenticate
from iocfeed.api.serialize import encode_json
from iocfeed.api.services import Services, services
from iocfeed.errors import InvalidParameter, NotFound
from iocfeed.keys import MAX_EXPIRY_DAYS, mint_key
from iocfeed.store.accounts import (
    KeyRecord,
    count_active_keys,
    find_account,
    get_key,
    list_keys,
    revoke_key,
    usage_days,
)
from iocfeed.store.schema import LATENCY_BOUNDS_MS
from iocfeed.timeutil import format_us, from_us, now_us

MAX_USAGE_DAYS = 90


class KeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    expires_in_days: int | None = None


class KeyRevoke(msgspec.Struct, forbid_unknown_fields=True):
    reason: str | None = None


def _key_json(record: KeyRecord, caller: Caller, now: int) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "prefix": record.prefix,
        "created_at": format_us(record.created_at),
        "expires_at": format_us(record.expires_at),
        "revoked_at": format_us(record.revoked_at),
        "revoked_reason": record.revoked_reason,
        "last_used_at": format_us(record.last_used_at),
        "active": record.is_active(now),
        "current": record.id == caller.key_id,
    }


def _own_key(svc: Services, caller: Caller, key_id: str) -> KeyRecord:
    with svc.engine.connect() as connection:
        try:
            record = get_key(connection, key_id)
        except NotFound:
            record = None
    if record is None or record.account_id != caller.account_id:  # another account's key does not exist here
        raise NotFound(f"no key with id {key_id!r} in this account")
    return record


@get("/api/v1/keys", summary="The calling account's keys and its quota", tags=["keys"], sync_to_thread=False)
def list_account_keys(request: Request) -> Response[bytes]:
    svc = services(request)
    caller = authenticate(request, svc)
    now = now_us()
    with svc.engine.connect() as connection:
        records = list_keys(connection, caller.account_id)
        active = count_active_keys(connection, caller.account_id, now)
    meta = {"tier": caller.tier.name, "quota": caller.tier.key_quota, "active": active}
    return Response(
        encode_json({"meta": meta, "data": [_key_json(r, caller, now) for r in records]}),
        media_type="application/json",
    )


@post("/api/v1/keys", summary="Mint a key (shown once)", tags=["keys"], sync_to_thread=False, status_code=201)
def create_account_key(request: Request, data: Annotated[KeyCreate, Body()]) -> Response[bytes]:
    svc = services(request)
    caller = authenticate(request, svc)
    if not data.name.strip() or len(data.name) > 200:
        raise InvalidParameter("name", "name must be 1 to 200 characters.")
    if data.expires_in_days is not None and not 1 <= data.expires_in_days <= MAX_EXPIRY_DAYS:
        raise InvalidParameter("expires_in_days", f"expires_in_days must be between 1 and {MAX_EXPIRY_DAYS}.")
    with svc.engine.connect() as connection:
        account = find_account(connection, caller.account_id)
    minted = mint_key(
        svc.engine, svc.keyring, svc.tiers, account, name=data.name, expires_in_days=data.expires_in_days
    )
    body = {
        "data": {"key": minted.key, **_key_json(minted.record, caller, now_us())},
        "meta": {"note": "Store the key now: it is not shown again."},
    }
    return Response(encode_json(body), media_type="application/json", status_code=201)


@delete(
    "/api/v1/keys/{key_id:str}",
    summary="Revoke a key of this account",
    tags=["keys"],
    sync_to_thread=False,
    status_code=200,
)
def revoke_account_key(
    request: Request,
    key_id: Annotated[str, PathParameter(description="the key's id (key_...)")],
    reason: Annotated[str | None, QueryParameter(required=False, description="why, for the record")] = None,
) -> Response[bytes]:
    svc = services(request)
    caller = authenticate(request, svc)
    _own_key(svc, caller, key_id)
    record = revoke_key(svc.engine, key_id, (reason or "").strip()[:500] or "revoked through the API")
    svc.key_cache.forget(key_id)
    return Response(encode_json({"data": _key_json(record, caller, now_us())}), media_type="application/json")


@get(
    "/api/v1/keys/{key_id:str}/usage",
    summary="A key's usage per day: requests, status mix, latency",
    tags=["keys"],
    sync_to_thread=False,
)
def key_usage(
    request: Request,
    key_id: Annotated[str, PathParameter(description="the key's id (key_...)")],
    days: Annotated[
        str | None, QueryParameter(required=False, description=f"1..{MAX_USAGE_DAYS} (default 30)")
    ] = None,
) -> Response[bytes]:
    svc = services(request)
    caller = authenticate(request, svc)
    window = _days(days)
    _own_key(svc, caller, key_id)
    svc.usage.flush()  # include the last few seconds
    first_day = (from_us(now_us()) - timedelta(days=window - 1)).strftime("%Y-%m-%d")
    with svc.engine.connect() as connection:
        rows = usage_days(connection, key_id, first_day)
    series = {
        (from_us(now_us()) - timedelta(days=d)).strftime("%Y-%m-%d"): None for d in range(window - 1, -1, -1)
    }
    daily = []
    histogram = [0] * (len(LATENCY_BOUNDS_MS) + 1)
    totals = {"requests": 0, "ok": 0, "client_errors": 0, "rate_limited": 0, "server_errors": 0}
    latency_total = 0
    by_day = {row.day: row for row in rows}
    for day in series:
        row = by_day.get(day)
        entry = {"day": day, **dict.fromkeys(totals, 0)}
        if row is not None:
            for name in totals:
                entry[name] = getattr(row, name)
                totals[name] += getattr(row, name)
            latency_total += row.latency_ms_total
            histogram = [a + b for a, b in zip(histogram, row.latency_histogram, strict=True)]
        daily.append(entry)
    body = {
        "data": {
            "key_id": key_id,
            "days": window,
            "totals": totals,
            "latency_ms": {
                "mean": round(latency_total / totals["requests"], 1) if totals["requests"] else None,
                **{f"p{p}": _percentile(histogram, p / 100) for p in (50, 95, 99)},
                "buckets": {f"le_{b}": n for b, n in zip(LATENCY_BOUNDS_MS, histogram, strict=False)}
                | {"gt_1000": histogram[-1]},
            },
            "daily": daily,
        }
    }
    return Response(encode_json(body), media_type="application/json")


def _days(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return 30
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text[:6]) <= MAX_USAGE_DAYS:
        raise InvalidParameter("days", f"days must be a whole number from 1 to {MAX_USAGE_DAYS}.")
    return int(text)


def _percentile(histogram: list[int], fraction: float) -> int | None:
    """The bucket bound (ms) below which `fraction` of requests were answered (None: no requests;
    above the last bound: reported as that bound + 1, i.e. 'over a second')."""
    total = sum(histogram)
    if not total:
        return None
    running = 0
    for bound, count in zip((*LATENCY_BOUNDS_MS, LATENCY_BOUNDS_MS[-1] + 1), histogram, strict=True):
        running += count
        if running >= fraction * total:
            return bound
    return LATENCY_BOUNDS_MS[-1] + 1
