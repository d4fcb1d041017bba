"""Read side of the feed: filtered, keyset-ordered pages of indicators, counts, one indicator in full."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, Select, and_, func, select, tuple_

from iocfeed.errors import NotFound
from iocfeed.store.codes import BEST_SIGHTING_COLUMN, CATEGORIES, categories_mask
from iocfeed.store.schema import articles, indicators, sightings, sources

SORT_COLUMNS = ("updated_at", "first_seen", "last_seen")


@dataclass(frozen=True, slots=True)
class IndicatorFilter:
    """Every filter of GET /api/v1/iocs, already validated. None means 'no restriction'."""

    types: tuple[str, ...] | None = None
    confidences: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    industries_mask: int | None = None
    statuses: tuple[str, ...] | None = ("active",)
    since: int | None = None  # µs; updated_at strictly after


@dataclass(frozen=True, slots=True)
class PageRequest:
    sort: str = "updated_at"  # one of SORT_COLUMNS
    descending: bool = False
    limit: int = 100
    offset: int = 0
    after: tuple[int, int] | None = None  # keyset position: (sort value, pk) of the last row seen


@dataclass(frozen=True, slots=True)
class SourceRef:
    """The `source` object of a record: one sighting with its source and article."""

    sighting_pk: int
    feed_name: str
    category: str
    origin: str
    reliability: int
    last_seen: int
    article_id: str | None
    article_title: str | None
    article_url: str | None
    reference_url: str | None
    first_seen: int
    context: str | None
    raw_value: str


@dataclass(frozen=True, slots=True)
class IndicatorRow:
    pk: int
    id: str
    type: str
    value: str
    status: str
    status_reason: str | None
    base_score: float
    score: int
    confidence: str
    first_seen: int
    last_seen: int
    updated_at: int
    source_count: int
    industries: str  # JSON text, passed through to the response as is
    tags: str
    mitre_techniques: str
    context: str | None
    best_sighting: int | None
    best_government_sighting: int | None
    best_commercial_sighting: int | None
    best_community_sighting: int | None

    def sort_value(self, sort: str) -> int:
        return getattr(self, sort)


_ROW_COLUMNS = [indicators.c[name] for name in IndicatorRow.__slots__]


def _filtered(statement: Select, flt: IndicatorFilter) -> Select:
    conditions = []
    if flt.statuses is not None:
        conditions.append(indicators.c.status.in_(flt.statuses))
    if flt.types is not None:
        conditions.append(indicators.c.type.in_(flt.types))
    if flt.confidences is not None:
        conditions.append(indicators.c.confidence.in_(flt.confidences))
    if flt.categories is not None:
        mask = categories_mask(flt.categories)
        conditions.append(indicators.c.categories_mask.op("&")(mask) != 0)
    if flt.industries_mask is not None:
        conditions.append(indicators.c.industries_mask.op("&")(flt.industries_mask) != 0)
    if flt.since is not None:
        conditions.append(indicators.c.updated_at > flt.since)
    return statement.where(and_(*conditions)) if conditions else statement


def list_page(connection: Connection, flt: IndicatorFilter, page: PageRequest) -> list[IndicatorRow]:
    """Up to page.limit + 1 rows (the extra one tells the caller there is a next page)."""
    sort_column = indicators.c[page.sort]
    statement = _filtered(select(*_ROW_COLUMNS), flt)
    if page.after is not None:
        position = tuple_(sort_column, indicators.c.pk)
        bound = tuple_(*page.after)
        statement = statement.where(position < bound if page.descending else position > bound)
    if page.descending:
        statement = statement.order_by(sort_column.desc(), indicators.c.pk.desc())
    else:
        statement = statement.order_by(sort_column.asc(), indicators.c.pk.asc())
    statement = statement.limit(page.limit + 1).offset(page.offset or None)
    return [IndicatorRow(*row) for row in connection.execute(statement)]


def count_matching(connection: Connection, flt: IndicatorFilter) -> int:
    return connection.execute(_filtered(select(func.count()).select_from(indicators), flt)).scalar_one()


_SOURCE_COLUMNS = (
    sightings.c.pk,
    sources.c.name,
    sources.c.category,
    sources.c.origin,
    sources.c.reliability,
    sightings.c.last_seen,
    sightings.c.article_id,
    articles.c.title,
    articles.c.url,
    sightings.c.reference_url,
    sightings.c.first_seen,
    sightings.c.context,
    sightings.c.raw_value,
)
_SIGHTING_JOIN = sightings.join(sources, sources.c.id == sightings.c.source_id).outerjoin(
    articles, articles.c.id == sightings.c.article_id
)


def fetch_sources(connection: Connection, sighting_pks: set[int]) -> dict[int, SourceRef]:
    if not sighting_pks:
        return {}
    statement = select(*_SOURCE_COLUMNS).select_from(_SIGHTING_JOIN).where(sightings.c.pk.in_(sighting_pks))
    return {row[0]: SourceRef(*row) for row in connection.execute(statement)}


def best_source_pk(row: IndicatorRow, categories: tuple[str, ...] | None) -> list[int]:
    """Candidate sightings for a row's `source`: the overall best, or the best of each asked category."""
    if categories is None or len(categories) == len(CATEGORIES):
        return [row.best_sighting] if row.best_sighting is not None else []
    return [pk for c in categories if (pk := getattr(row, BEST_SIGHTING_COLUMN[c])) is not None]


def choose_source(candidates: list[SourceRef]) -> SourceRef | None:
    """The most reliable of the candidates (same order as store.upsert ranks sightings)."""
    if not candidates:
        return None
    return max(candidates, key=lambda s: (s.reliability, s.last_seen, -s.sighting_pk))


def get_indicator(connection: Connection, indicator_id: str) -> tuple[IndicatorRow, list[SourceRef]]:
    """One indicator and every sighting of it, most reliable first."""
    row = connection.execute(select(*_ROW_COLUMNS).where(indicators.c.id == indicator_id)).first()
    if row is None:
        raise NotFound(f"no indicator with id {indicator_id!r}")
    indicator = IndicatorRow(*row)
    statement = (
        select(*_SOURCE_COLUMNS)
        .select_from(_SIGHTING_JOIN)
        .where(sightings.c.indicator_pk == indicator.pk)
        .order_by(sources.c.reliability.desc(), sightings.c.last_seen.desc(), sightings.c.pk)
    )
    return indicator, [SourceRef(*r) for r in connection.execute(statement)]


def list_page_by_ids(connection: Connection, ids: list[str]) -> list[IndicatorRow]:
    """Indicators by public id, in the order given (ids that do not exist are skipped)."""
    found: dict[str, IndicatorRow] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in connection.execute(select(*_ROW_COLUMNS).where(indicators.c.id.in_(chunk))):
            found[row.id] = IndicatorRow(*row)
    return [found[i] for i in ids if i in found]


def iter_pages(
    connection: Connection, flt: IndicatorFilter, page: PageRequest, *, batch: int = 2_000
) -> Iterator[list[IndicatorRow]]:
    """Every matching row in the page's order, up to page.limit, fetched `batch` rows at a time by
    keyset (so memory stays flat however large the export, and a deep row costs what the first does)."""
    remaining = page.limit
    after = page.after
    while remaining > 0:
        size = min(batch, remaining)
        rows = list_page(connection, flt, PageRequest(page.sort, page.descending, size, 0, after))[:size]
        if not rows:
            return
        yield rows
        remaining -= len(rows)
        if len(rows) < size:
            return
        after = (rows[-1].sort_value(page.sort), rows[-1].pk)


def with_sources(
    connection: Connection, rows: list[IndicatorRow], categories: tuple[str, ...] | None
) -> list[tuple[IndicatorRow, SourceRef | None]]:
    """Each row with its `source` (the most reliable, of the asked categories if any)."""
    refs = fetch_sources(connection, {pk for row in rows for pk in best_source_pk(row, categories)})
    return [
        (row, choose_source([refs[pk] for pk in best_source_pk(row, categories) if pk in refs]))
        for row in rows
    ]
