"""GET /api/v1/iocs/misp, /cef, /openioc and /sigma: the feed in the formats SOC tools import.

Each takes the list's filters, needs a tier with exports (403 tier_required otherwise), caps `limit`
at the tier's max_export, and streams: rows are read in keyset batches while the body is written
(api.exporting), so a large export holds a batch or two in memory, never the whole feed. The format
modules (iocfeed.exports.*) document their mappings.
"""

from __future__ import annotations

import socket
from typing import Annotated

import msgspec
from litestar import Request, get
from litestar.params import QueryParameter
from litestar.response import Stream

from iocfeed.api.exporting import (
    CategoryFilter,
    ConfidenceFilter,
    ExportLimit,
    IndustryFilter,
    MinConfidenceFilter,
    SinceFilter,
    SortOrder,
    StatusFilter,
    TypeFilter,
    export_request,
    start_export,
)
from iocfeed.api.params import ListQuery
from iocfeed.errors import InvalidParameter
from iocfeed.exports.cef import cef_chunks
from iocfeed.exports.misp import misp_event_chunks
from iocfeed.exports.openioc import openioc_chunks
from iocfeed.exports.sigma import sigma_chunks
from iocfeed.timeutil import now_us

MEDIA_TYPES = {
    "misp": "application/json",
    "cef": "text/plain",  # Litestar's streamed responses add "; charset=utf-8" to text/ types
    "openioc": "application/xml",
    "sigma": "application/yaml",  # RFC 9512
}
CEF_FORMATS = ("cef", "syslog")


def export_key(query: ListQuery) -> str:
    """What makes two exports 'the same document' (its deterministic id): the filters, not the
    window (`since`) or the order, so successive delta exports update one MISP event / ioc."""
    filters = {name: value for name, value in query.echo.items() if name not in ("since", "sort")}
    return msgspec.json.encode(dict(sorted(filters.items()))).decode()


def describe(query: ListQuery) -> str:
    filters = [
        f"{name}={','.join(map(str, value))}"
        for name, value in query.echo.items()
        if name != "sort" and isinstance(value, list)
    ]
    if "since" in query.echo:
        filters.append(f"since={query.echo['since']}")
    return "iocfeed indicators" + (f" ({'; '.join(filters)})" if filters else "")


@get(
    "/api/v1/iocs/misp",
    summary="Indicators as one MISP event",
    description=(
        "One MISP event (Event.Attribute[]), one attribute per indicator: ip-dst, domain, url, hashes, "
        "email-src, vulnerability; ATT&CK ids as mitre-attack-pattern galaxy tags. to_ids is true for "
        "active indicators except CVEs. The event uuid depends only on the filters, so a re-import "
        "updates it. Streamed."
    ),
    tags=["exports"],
    sync_to_thread=True,
)
def export_misp(
    request: Request,
    type_: TypeFilter = None,
    confidence: ConfidenceFilter = None,
    min_confidence: MinConfidenceFilter = None,
    category: CategoryFilter = None,
    industry: IndustryFilter = None,
    since: SinceFilter = None,
    status: StatusFilter = None,
    sort: SortOrder = None,
    limit: ExportLimit = None,
) -> Stream:
    svc, _caller, query = export_request(request, "The MISP export")
    batches, headers = start_export(svc, query)
    chunks = misp_event_chunks(batches, info=describe(query), export_key=export_key(query), now=now_us())
    return Stream(chunks, media_type=MEDIA_TYPES["misp"], headers=headers)


@get(
    "/api/v1/iocs/cef",
    summary="Indicators as CEF or RFC 5424 syslog lines",
    description=(
        "One line per indicator: `format=cef` (default) writes CEF:0 lines; `format=syslog` writes "
        "RFC 5424 lines with structured data [ioc@32473 ...] and the CEF line as the message. Streamed."
    ),
    tags=["exports"],
    sync_to_thread=True,
)
def export_cef(
    request: Request,
    type_: TypeFilter = None,
    confidence: ConfidenceFilter = None,
    min_confidence: MinConfidenceFilter = None,
    category: CategoryFilter = None,
    industry: IndustryFilter = None,
    since: SinceFilter = None,
    status: StatusFilter = None,
    sort: SortOrder = None,
    limit: ExportLimit = None,
    format_: Annotated[
        str | None, QueryParameter(name="format", required=False, description="cef (default) or syslog")
    ] = None,
) -> Stream:
    svc, _caller, query = export_request(request, "The CEF export")
    fmt = (format_ or "").strip().lower() or "cef"
    if fmt not in CEF_FORMATS:
        raise InvalidParameter(
            "format",
            f"format must be one of {', '.join(CEF_FORMATS)}; got {fmt[:64]!r}.",
            allowed=list(CEF_FORMATS),
        )
    batches, headers = start_export(svc, query)
    chunks = cef_chunks(batches, now=now_us(), syslog=fmt == "syslog", hostname=socket.gethostname())
    return Stream(chunks, media_type=MEDIA_TYPES["cef"], headers=headers)


@get(
    "/api/v1/iocs/openioc",
    summary="Indicators as an OpenIOC 1.0 document",
    description=(
        "One <ioc> (namespace http://schemas.mandiant.com/2010/ioc) whose definition ORs one "
        "IndicatorItem per IP, domain, URL, MD5, SHA-1, SHA-256 or email indicator; other types have "
        "no OpenIOC 1.0 term and are counted in a closing comment. Streamed."
    ),
    tags=["exports"],
    sync_to_thread=True,
)
def export_openioc(
    request: Request,
    type_: TypeFilter = None,
    confidence: ConfidenceFilter = None,
    min_confidence: MinConfidenceFilter = None,
    category: CategoryFilter = None,
    industry: IndustryFilter = None,
    since: SinceFilter = None,
    status: StatusFilter = None,
    sort: SortOrder = None,
    limit: ExportLimit = None,
) -> Stream:
    svc, _caller, query = export_request(request, "The OpenIOC export")
    batches, headers = start_export(svc, query)
    chunks = openioc_chunks(batches, description=describe(query), export_key=export_key(query), now=now_us())
    return Stream(chunks, media_type=MEDIA_TYPES["openioc"], headers=headers)


@get(
    "/api/v1/iocs/sigma",
    summary="Indicators as Sigma rules",
    description=(
        "Multi-document YAML, one Sigma rule per document: IPs -> network_connection, domains -> "
        "dns_query and network_connection, URLs -> proxy, MD5/SHA-1/SHA-256 -> process_creation and "
        "file_event (Hashes|contains). Rule ids are deterministic. Streamed."
    ),
    tags=["exports"],
    sync_to_thread=True,
)
def export_sigma(
    request: Request,
    type_: TypeFilter = None,
    confidence: ConfidenceFilter = None,
    min_confidence: MinConfidenceFilter = None,
    category: CategoryFilter = None,
    industry: IndustryFilter = None,
    since: SinceFilter = None,
    status: StatusFilter = None,
    sort: SortOrder = None,
    limit: ExportLimit = None,
) -> Stream:
    svc, _caller, query = export_request(request, "The Sigma export")
    batches, headers = start_export(svc, query)
    return Stream(sigma_chunks(batches, now=now_us()), media_type=MEDIA_TYPES["sigma"], headers=headers)


ROUTES = [export_misp, export_cef, export_openioc, export_sigma]
