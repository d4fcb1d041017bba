"""The feed's hot read path, on the DBAPI connection: one statement per page, no ORM or Core layer.

GET /api/v1/iocs is the request SIEMs repeat all day, so its queries skip SQLAlchemy's execution
machinery (which costs more than SQLite's own work for a 100-row page) and run prebuilt SQL through
the pooled driver connection. The page and its `source` objects come from one statement: the
indicator's best-sighting column (overall, or of the one asked category) joins its sighting and
article; source names come from a small in-process cache of the sources table. A request asking for
several categories picks the most reliable of their best sightings with a second, batched lookup.

Reads need no transaction: the sync clock is read first, then the rows (store.writer explains why
that order is lossless), each statement seeing committed data.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from iocfeed.store.codes import BEST_SIGHTING_COLUMN, CATEGORIES, categories_mask
from iocfeed.store.queries import IndicatorFilter, PageRequest

SOURCE_CACHE_SECONDS = 30.0
IDLE_CONNECTIONS = 8  # the event loop thread and the few worker threads that read at once
ROW_COLUMNS = (
    "pk", "id", "type", "value", "status", "status_reason", "base_score", "score", "confidence", "first_seen",
    "last_seen", "updated_at", "source_count", "industries", "tags", "mitre_techniques", "context",
    "best_sighting", "best_government_sighting", "best_commercial_sighting", "best_community_sighting",
)  # fmt: skip
# Indexes of the page tuple, for the serializer.
PK, ID, TYPE, VALUE, STATUS = 0, 1, 2, 3, 4
BASE_SCORE, CONFIDENCE, FIRST_SEEN, LAST_SEEN, UPDATED_AT = 6, 8, 9, 10, 11
SOURCE_COUNT, INDUSTRIES, TAGS, MITRE, CONTEXT = 12, 13, 14, 15, 16
BEST = 17  # overall, government, commercial, community
# The joined sighting: source id, article id, reference url, article title, article url, last seen.
S_SOURCE, S_ARTICLE, S_REFERENCE, S_TITLE, S_URL, S_LAST_SEEN = 21, 22, 23, 24, 25, 26


@dataclass(frozen=True, slots=True)
class SourceInfo:
    name: str
    category: str
    origin: str
    reliability: int


class FeedReader:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._mark = "?" if engine.dialect.name == "sqlite" else "%s"
        self._sources: dict[int, SourceInfo] = {}
        self._sources_loaded = 0.0
        self._lock = threading.Lock()
        # Pages run on idle driver connections kept here rather than checked out of the pool: on
        # SQLite checkout, reset and checkin cost as much as a small page's SQL; on PostgreSQL the
        # pool's liveness ping and reset are two round trips of four. The connections read in
        # autocommit, so a kept one never holds an old snapshot; a PostgreSQL connection that broke
        # while idle (a server restart) is replaced and the page read again, once.
        self._idle: list[Any] = []
        self._postgres = engine.dialect.name != "sqlite"

    # -- public ---------------------------------------------------------------------------------

    def read_page(self, flt: IndicatorFilter, page: PageRequest) -> tuple[int, list[tuple[Any, ...]]]:
        """(sync clock, up to page.limit + 1 rows). Each row: ROW_COLUMNS, then the chosen sighting's
        source id, article id, reference url, article title, article url, last seen (or Nones)."""
        try:
            connection = self._idle.pop()
        except IndexError:
            connection = self._new_idle_connection()
        try:
            result = self._read_page_on(connection, flt, page)
        except Exception as exc:
            connection.close()  # whatever state it is in, it is not kept
            if not (self._postgres and _is_disconnect(exc)):
                raise
            connection = self._new_idle_connection()
            result = self._read_page_on(connection, flt, page)
        if len(self._idle) < IDLE_CONNECTIONS:
            self._idle.append(connection)
        else:
            connection.close()
        return result

    def close(self) -> None:
        """Close the kept connections (the app's shutdown; a later read opens new ones)."""
        while self._idle:
            self._idle.pop().close()

    def _read_page_on(
        self, connection: Any, flt: IndicatorFilter, page: PageRequest
    ) -> tuple[int, list[tuple[Any, ...]]]:
        cursor = connection.cursor()
        cursor.execute("SELECT clock FROM sync_state WHERE id = 1")
        clock = cursor.fetchone()[0]
        wanted = page.limit + 1
        if page.after is not None and not self._postgres:
            # SQLite seeks a row-value bound by its first column only, then steps over every row
            # that ties it: at the end of a delta, a whole write batch shares one updated_at. So:
            # the rest of the tie (an equality and a pk range: a seek), then what lies beyond it.
            cursor.execute(*self._page_sql(flt, page, wanted, keyset="tie"))
            rows = cursor.fetchall()
            if len(rows) < wanted:
                cursor.execute(*self._page_sql(flt, page, wanted - len(rows), keyset="beyond"))
                rows += cursor.fetchall()
        else:
            cursor.execute(*self._page_sql(flt, page, wanted))
            rows = cursor.fetchall()
        if _several_categories(flt) and rows:
            rows = self._choose_among_categories(cursor, rows, flt.categories)
        cursor.close()
        return clock, rows

    def _new_idle_connection(self) -> Any:
        """A driver connection set up by the engine's connect hooks (pragmas), then detached from
        the pool: it is ours to keep, and closed when dropped."""
        fairy = self.engine.raw_connection()
        fairy.detach()
        connection = fairy.dbapi_connection
        if self._postgres:
            connection.rollback()  # leave the pool's ping transaction before switching mode
            connection.autocommit = True
        return connection

    def count_at(self, flt: IndicatorFilter) -> tuple[int, int]:
        """(sync clock, count) read in one snapshot, so the count is exact for that data version."""
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            if not self._postgres:
                cursor.execute("BEGIN")
            else:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SELECT clock FROM sync_state WHERE id = 1")
            clock = cursor.fetchone()[0]
            cursor.execute(*self._count_sql(flt))
            total = int(cursor.fetchone()[0] or 0)
            cursor.execute("COMMIT") if not self._postgres else connection.commit()
            return clock, total
        finally:
            connection.close()

    def _count_sql(self, flt: IndicatorFilter) -> tuple[str, list[Any]]:
        """Without `since`, every filter is a column of indicator_counts (kept exact by triggers): a
        SUM over a few thousand groups. With `since`, count the index range of recent updates."""
        if flt.since is None:
            where, params = self._where(flt, alias="c")
            return f"SELECT sum(c.n) FROM indicator_counts c{where}", params
        where, params = self._where(flt)
        return f"SELECT count(*) FROM indicators i{where}", params

    def source(self, source_id: int | None) -> SourceInfo | None:
        if source_id is None:
            return None
        info = self._sources.get(source_id)
        if info is None or time.monotonic() - self._sources_loaded > SOURCE_CACHE_SECONDS:
            self._load_sources()
            info = self._sources.get(source_id)
        return info

    # -- SQL ------------------------------------------------------------------------------------

    def _where(self, flt: IndicatorFilter, alias: str = "i") -> tuple[str, list[Any]]:
        m = self._mark
        a = alias
        clauses: list[str] = []
        params: list[Any] = []
        for column, values in (
            ("status", flt.statuses),
            ("type", flt.types),
            ("confidence", flt.confidences),
        ):
            if values is not None:
                if not values:  # e.g. confidence=low with min_confidence=medium: nothing can match
                    clauses.append("1 = 0")
                    continue
                clauses.append(f"{a}.{column} IN ({','.join(m for _ in values)})")
                params.extend(values)
        if flt.categories is not None:
            clauses.append(f"({a}.categories_mask & {m}) != 0")
            params.append(categories_mask(flt.categories))
        if flt.industries_mask is not None:
            clauses.append(f"({a}.industries_mask & {m}) != 0")
            params.append(flt.industries_mask)
        if flt.since is not None:
            clauses.append(f"{a}.updated_at > {m}")
            params.append(flt.since)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def _page_sql(
        self, flt: IndicatorFilter, page: PageRequest, limit: int | None = None, keyset: str = "row"
    ) -> tuple[str, list[Any]]:
        """One page statement for `limit` rows (default: page.limit + 1). After a cursor, `keyset`
        says which rows past (sort value, pk) it reads: "row" all of them (a row-value bound),
        "tie" those sharing the sort value, "beyond" those with a later sort value."""
        m = self._mark
        where, params = self._where(flt)
        if page.after is not None:
            comparison = "<" if page.descending else ">"
            sort_value, pk = page.after
            if keyset == "tie":
                bound, bound_params = f"i.{page.sort} = {m} AND i.pk {comparison} {m}", [sort_value, pk]
            elif keyset == "beyond":
                bound, bound_params = f"i.{page.sort} {comparison} {m}", [sort_value]
            else:
                bound, bound_params = f"(i.{page.sort}, i.pk) {comparison} ({m}, {m})", [sort_value, pk]
            where += (" AND " if where else " WHERE ") + bound
            params.extend(bound_params)
        direction = "DESC" if page.descending else "ASC"
        best = _best_column(flt.categories)
        columns = _PAGE_COLUMNS_WITH_BEST if _several_categories(flt) else _PAGE_COLUMNS
        hint = "" if self._postgres else f" INDEXED BY {_driving_index(flt, page.sort)}"
        sql = (
            f"SELECT {columns}, s.source_id, s.article_id, s.reference_url, a.title, a.url, s.last_seen "
            f"FROM indicators i{hint} LEFT JOIN sightings s ON s.pk = i.{best} "
            f"LEFT JOIN articles a ON a.id = s.article_id"
            f"{where} ORDER BY i.{page.sort} {direction}, i.pk {direction} LIMIT {m} OFFSET {m}"
        )
        params.extend((page.limit + 1 if limit is None else limit, page.offset))
        return sql, params

    def _choose_among_categories(
        self, cursor: Any, rows: list[tuple[Any, ...]], categories: tuple[str, ...]
    ) -> list[tuple[Any, ...]]:
        """Several (not all) categories asked: the most reliable of their best sightings."""
        slots = [BEST + 1 + CATEGORIES.index(c) for c in categories]
        wanted = {row[slot] for row in rows for slot in slots if row[slot] is not None}
        found: dict[int, tuple[Any, ...]] = {}
        m = self._mark
        pks = sorted(wanted)
        for start in range(0, len(pks), 500):
            chunk = pks[start : start + 500]
            cursor.execute(
                "SELECT s.pk, s.source_id, s.article_id, s.reference_url, a.title, a.url, s.last_seen "
                "FROM sightings s LEFT JOIN articles a ON a.id = s.article_id "
                f"WHERE s.pk IN ({','.join(m for _ in chunk)})",
                chunk,
            )
            found.update((r[0], r[1:]) for r in cursor.fetchall())
        chosen_rows = []
        for row in rows:
            candidates = [found[row[slot]] for slot in slots if row[slot] in found]
            best = max(candidates, key=self._rank, default=(None,) * 6)
            chosen_rows.append(row[:S_SOURCE] + tuple(best))
        return chosen_rows

    def _rank(self, sighting: tuple[Any, ...]) -> tuple[int, int]:
        info = self.source(sighting[0])
        return (info.reliability if info else -1, sighting[5] or 0)

    def _load_sources(self) -> None:
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT id, name, category, origin, reliability FROM sources")
            fresh = {row[0]: SourceInfo(row[1], row[2], row[3], row[4]) for row in cursor.fetchall()}
        finally:
            connection.close()
        with self._lock:
            self._sources = fresh
            self._sources_loaded = time.monotonic()


def _driving_index(flt: IndicatorFilter, sort: str) -> str:
    """The index that returns rows already in page order for these filters (SQLite: INDEXED BY).

    SQLite's planner, asked for a filter its favourite index narrows best, will happily read that
    index and sort what it finds: cheap on a test table, a full sort on a million rows. The page
    must come in index order, so the order decides: by updated_at, (status, [type | confidence,]
    updated_at, pk) for one status and (updated_at, pk) for several or all; by first or last seen,
    (seen, pk, status) whatever the status (checked on the entry). Other filters are checked on the
    rows as they come."""
    if sort != "updated_at":
        return f"ix_indicators_{sort}"
    if flt.statuses is not None and len(flt.statuses) == 1:
        if flt.types is not None and len(flt.types) == 1:
            return "ix_indicators_status_type_updated"
        if flt.confidences is not None and len(flt.confidences) == 1:
            return "ix_indicators_status_confidence_updated"
        return "ix_indicators_status_updated"
    return "ix_indicators_updated"


def _is_disconnect(exc: Exception) -> bool:
    """A PostgreSQL connection that is gone (closed, terminated), not a bad statement."""
    import psycopg

    return isinstance(exc, psycopg.OperationalError)


def _several_categories(flt: IndicatorFilter) -> bool:
    return flt.categories is not None and 1 < len(flt.categories) < len(CATEGORIES)


# What a page row carries. Columns no record shows read as NULL (a column SQLite need not decode
# nor the driver convert, 5% of a page's SQL); the best sighting per category only when several
# categories are asked and one of them must be chosen.
_UNREAD = {"status_reason", "score", *BEST_SIGHTING_COLUMN.values(), "best_sighting"}
_PAGE_COLUMNS = ", ".join("NULL" if c in _UNREAD else f"i.{c}" for c in ROW_COLUMNS)
_PAGE_COLUMNS_WITH_BEST = ", ".join(
    "NULL" if c in {"status_reason", "score"} else f"i.{c}" for c in ROW_COLUMNS
)


def _best_column(categories: tuple[str, ...] | None) -> str:
    if categories is not None and len(categories) == 1:
        return BEST_SIGHTING_COLUMN[categories[0]]
    return "best_sighting"
