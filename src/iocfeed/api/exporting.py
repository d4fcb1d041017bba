"""What every export endpoint shares: the caller must have exports in its tier, the list's filters
apply, `limit` is capped by the tier's max_export, and rows are read in keyset batches while the
response streams, so memory stays flat however large the export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from litestar import Request
from litestar.params import QueryParameter

from iocfeed.api.auth import Caller, authenticate, require_feature
from iocfeed.api.params import ListQuery, parse_list_query
from iocfeed.api.services import Services, services
from iocfeed.errors import InvalidParameter
from iocfeed.store.queries import IndicatorRow, SourceRef, iter_pages, with_sources
from iocfeed.store.writer import read_sync_clock
from iocfeed.timeutil import format_us, now_us

Batches = Iterator[list[tuple[IndicatorRow, SourceRef | None]]]

DEFAULT_EXPORT_LIMIT = 10_000
EXPORT_BATCH = 2_000


def export_request(request: Request, feature: str) -> tuple[Services, Caller, ListQuery]:
    """Authenticate, check the tier, parse the list's filters with the export cap."""
    svc = services(request)
    caller = authenticate(request, svc)
    require_feature(caller, caller.tier.exports, feature)
    query = parse_list_query(
        request.query_params,
        caller.tier,
        now_us(),
        max_limit=caller.tier.max_export,
        default_limit=min(DEFAULT_EXPORT_LIMIT, caller.tier.max_export),
        formats=None,
    )
    return svc, caller, query


def stream_rows(svc: Services, query: ListQuery) -> Iterator[list[tuple[IndicatorRow, SourceRef | None]]]:
    """Batches of (row, source) in the query's order; the connection lives as long as the stream."""
    with svc.read_engine.connect() as connection:
        for rows in iter_pages(connection, query.filter, query.page, batch=EXPORT_BATCH):
            yield with_sources(connection, rows, query.filter.categories)


def start_export(svc: Services, query: ListQuery) -> tuple[Batches, dict[str, str]]:
    """The batches to stream, with the first one already read, and the response headers.

    An export has no pages (it streams every match up to `limit`), so `cursor` and `offset` are
    refused rather than ignored. The sync clock is read before the rows, as the list does (see
    store.writer): `X-Sync-Since` is the `since` of the next delta export. The first batch is read
    here, before the status line goes out, so an unreachable database is a 503 with the error
    envelope rather than a document cut short.
    """
    if query.cursor is not None or query.page.offset:
        name = "cursor" if query.cursor is not None else "offset"
        raise InvalidParameter(name, f"{name} does not apply to exports; narrow the export with since.")
    with svc.read_engine.connect() as connection:
        sync_clock = read_sync_clock(connection)
    batches = stream_rows(svc, query)
    first = next(batches, None)
    rest = _first_then(first, batches) if first is not None else iter(())
    return rest, {"X-Sync-Since": format_us(sync_clock) or "1970-01-01T00:00:00Z"}


def _first_then(first: list[tuple[IndicatorRow, SourceRef | None]], rest: Batches) -> Batches:
    """`first`, then the rest. Not itertools.chain([first], rest): its argument tuple would keep the
    first batch alive until the very end of the stream, one batch more in memory for nothing."""
    holder = [first]
    del first
    yield holder.pop()
    yield from rest


# The list's filters, declared on each route for the OpenAPI document; api.params reads and
# validates them (with the list's messages) through export_request, so the handlers ignore them.
TypeFilter = Annotated[
    str | None,
    QueryParameter(
        name="type",
        required=False,
        description="ipv4 ipv6 domain url md5 sha1 sha256 sha512 cve mitre-attack email (comma list)",
    ),
]
ConfidenceFilter = Annotated[
    str | None, QueryParameter(required=False, description="high medium low (comma list)")
]
MinConfidenceFilter = Annotated[str | None, QueryParameter(required=False, description="low medium high")]
CategoryFilter = Annotated[
    str | None, QueryParameter(required=False, description="government commercial community (comma list)")
]
IndustryFilter = Annotated[
    str | None, QueryParameter(required=False, description="CISA sector slug (comma list)")
]
SinceFilter = Annotated[
    str | None, QueryParameter(required=False, description="ISO 8601: updated strictly after")
]
StatusFilter = Annotated[
    str | None,
    QueryParameter(required=False, description="active (default) expired false-positive revoked all"),
]
SortOrder = Annotated[
    str | None,
    QueryParameter(
        required=False, description="updated_at -updated_at first_seen -first_seen last_seen -last_seen"
    ),
]
ExportLimit = Annotated[
    str | None,
    QueryParameter(required=False, description="1..the tier's export cap (default 10,000 or the cap)"),
]
