"""Finding indicators by value: exact (canonical) first, then substring, plus related indicators."""

from __future__ import annotations

from sqlalchemy import Connection, select

from iocfeed.store.queries import _ROW_COLUMNS, IndicatorRow
from iocfeed.store.schema import indicators, sightings
from iocfeed.store.upsert import indicator_uuid

MAX_RELATED = 10


def find_exact(connection: Connection, candidates: list[tuple[str, str]]) -> list[IndicatorRow]:
    """Indicators whose (type, canonical value) is one of `candidates`, found by their ids (the id is
    derived from the pair, and is the indexed key)."""
    if not candidates:
        return []
    ids = sorted({indicator_uuid(t, v) for t, v in candidates})
    statement = select(*_ROW_COLUMNS).where(indicators.c.id.in_(ids))
    return [IndicatorRow(*row) for row in connection.execute(statement)]


def find_substring(
    connection: Connection, fragment: str, *, limit: int, exclude: set[int]
) -> list[IndicatorRow]:
    """Indicators whose value contains `fragment`, most recently updated first.

    A scan (LIKE '%...%' cannot use a b-tree); bounded by `limit`, it stops as soon as enough rows
    matched, which for any fragment that matters is quickly."""
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    statement = (
        select(*_ROW_COLUMNS)
        .where(indicators.c.value.like(f"%{escaped}%", escape="\\"))
        .order_by(indicators.c.updated_at.desc(), indicators.c.pk.desc())
        .limit(limit + len(exclude))
    )
    rows = [IndicatorRow(*row) for row in connection.execute(statement)]
    return [row for row in rows if row.pk not in exclude][:limit]


def find_related(connection: Connection, pks: list[int]) -> list[IndicatorRow]:
    """Up to MAX_RELATED other indicators named by the same articles."""
    if not pks:
        return []
    articles = (
        select(sightings.c.article_id)
        .where(sightings.c.indicator_pk.in_(pks), sightings.c.article_id.is_not(None))
        .distinct()
    )
    related = (
        select(sightings.c.indicator_pk)
        .where(sightings.c.article_id.in_(articles), sightings.c.indicator_pk.not_in(pks))
        .distinct()
        .limit(MAX_RELATED)
    )
    found = [row[0] for row in connection.execute(related)]
    if not found:
        return []
    return [
        IndicatorRow(*row)
        for row in connection.execute(select(*_ROW_COLUMNS).where(indicators.c.pk.in_(found)))
    ]
