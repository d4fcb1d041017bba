"""What every export endpoint shares: the caller must have exports in its tier, the list's filters
apply, `limit` is capped by the tier's max_export, and rows are read in keyset batches while the
response streams, so memory stays flat however large the export."""

from __future__ import annotations

from collections.abc import Iterator

from litestar import Request

from iocfeed.api.auth import Caller, authenticate, require_feature
from iocfeed.api.params import ListQuery, parse_list_query
from iocfeed.api.services import Services, services
from iocfeed.store.queries import IndicatorRow, SourceRef, iter_pages, with_sources
from iocfeed.timeutil import now_us

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
