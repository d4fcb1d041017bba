"""GET /api/v1/iocs/stix: the list's filters as one STIX 2.1 bundle, streamed (`exports.stix`)."""

from __future__ import annotations

import itertools
from typing import Annotated

from litestar import Request, get
from litestar.params import QueryParameter
from litestar.response import Stream

from iocfeed.api.exporting import export_request, stream_rows
from iocfeed.errors import InvalidParameter
from iocfeed.exports.stix import STIX_MEDIA_TYPE, TLP_LEVELS, stream_bundle
from iocfeed.store.writer import read_sync_clock
from iocfeed.timeutil import format_us, now_us


def parse_tlp(raw: str | None) -> str | None:
    """`tlp=` as a TLP 2.0 level, or None for the default by confidence.

    `amber+strict` arrives as `amber strict` when the client did not percent-encode the `+`
    (a `+` in a query string means a space), so both spellings are accepted, as is a `TLP:` prefix.
    """
    if raw is None or not raw.strip():
        return None
    level = raw.strip().lower().removeprefix("tlp:").replace(" ", "+").replace("_", "+")
    if level not in TLP_LEVELS:
        raise InvalidParameter(
            "tlp", f"tlp must be one of {', '.join(TLP_LEVELS)}; got {raw[:64]!r}.", allowed=list(TLP_LEVELS)
        )
    return level


@get(
    "/api/v1/iocs/stix",
    summary="Indicators as a STIX 2.1 bundle",
    description=(
        "The list's filters (type, confidence, min_confidence, category, industry, since, status, sort, "
        "limit up to the tier's export cap; default 10,000) as one STIX 2.1 bundle: the producer identity, "
        "the TLP 2.0 marking-definitions used, one indicator per network, email or hash IOC, a "
        "vulnerability per CVE and an attack-pattern per ATT&CK technique. Each object is marked by its "
        "confidence (high: TLP:GREEN, medium: TLP:AMBER, low: TLP:CLEAR) unless `tlp` overrides it. With "
        "status=all, withdrawn indicators come with revoked=true. Streamed; X-Sync-Since is the `since` "
        "of the next delta export."
    ),
    tags=["exports"],
    sync_to_thread=True,
)
def export_stix(
    request: Request,
    tlp: Annotated[
        str | None, QueryParameter(required=False, description="clear green amber amber+strict red")
    ] = None,
    type_: Annotated[
        str | None, QueryParameter(name="type", required=False, description="as the list")
    ] = None,
    confidence: Annotated[str | None, QueryParameter(required=False, description="as the list")] = None,
    min_confidence: Annotated[str | None, QueryParameter(required=False, description="as the list")] = None,
    category: Annotated[str | None, QueryParameter(required=False, description="as the list")] = None,
    industry: Annotated[str | None, QueryParameter(required=False, description="as the list")] = None,
    since: Annotated[str | None, QueryParameter(required=False, description="ISO 8601 timestamp")] = None,
    status: Annotated[str | None, QueryParameter(required=False, description="as the list")] = None,
    sort: Annotated[str | None, QueryParameter(required=False, description="as the list")] = None,
    limit: Annotated[
        str | None, QueryParameter(required=False, description="1..tier export cap (default 10,000)")
    ] = None,
) -> Stream:
    svc, _caller, query = export_request(request, "The STIX export")
    level = parse_tlp(request.query_params.get("tlp"))
    # The export streams every match up to `limit` in one response; it has no pages to step through.
    if query.cursor is not None or query.page.offset:
        name = "cursor" if query.cursor is not None else "offset"
        raise InvalidParameter(name, f"{name} does not apply to exports; narrow the export with since.")
    with svc.read_engine.connect() as connection:
        # Read before the rows (they are read later, while streaming): see store.writer.
        sync_clock = read_sync_clock(connection)
    headers = {"X-Sync-Since": format_us(sync_clock) or "1970-01-01T00:00:00Z"}
    batches = stream_rows(svc, query)
    # The first batch is read here, so a database that cannot be reached is a 503 with the error
    # envelope, not a bundle cut short after its status line has gone out.
    first = next(batches, None)
    rest = itertools.chain([first], batches) if first is not None else iter(())
    chunks = stream_bundle(rest, now=now_us(), tlp=level)
    return Stream(chunks, media_type=STIX_MEDIA_TYPE, headers=headers)
