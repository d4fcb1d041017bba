"""GET /api/v1/iocs/stix: the list's filters as one STIX 2.1 bundle, streamed (`exports.stix`)."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get
from litestar.params import QueryParameter
from litestar.response import Stream

from iocfeed.api.exporting import export_request, start_export
from iocfeed.errors import InvalidParameter
from iocfeed.exports.stix import STIX_MEDIA_TYPE, TLP_LEVELS, stream_bundle
from iocfeed.timeutil import now_us


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
    rest, headers = start_export(svc, query)
    chunks = stream_bundle(rest, now=now_us(), tlp=level)
    return Stream(chunks, media_type=STIX_MEDIA_TYPE, headers=headers)
