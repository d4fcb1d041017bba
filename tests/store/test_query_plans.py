"""Every filter combination of GET /api/v1/iocs is served in index order on both backends: no page
query sorts the matching rows (which on a million rows is the difference between 1 ms and 1 s)."""

from __future__ import annotations

import itertools
import json

import pytest

from benchmarks.generate_store import generate
from iocfeed.store.feed_reads import FeedReader
from iocfeed.store.queries import IndicatorFilter, PageRequest
from tests.conftest import BACKENDS, new_database

SORTS = [
    ("updated_at", False),
    ("updated_at", True),
    ("first_seen", False),
    ("first_seen", True),
    ("last_seen", False),
    ("last_seen", True),
]
STATUSES = [("active",), None, ("expired",), ("active", "expired")]
FILTERS = {
    "none": {},
    "type": {"types": ("ipv4",)},
    "types": {"types": ("ipv4", "ipv6")},
    "confidence": {"confidences": ("high",)},
    "min_confidence": {"confidences": ("high", "medium")},
    "category": {"categories": ("government",)},
    "categories": {"categories": ("government", "community")},
    "industry": {"industries_mask": 1 << 7},
    "since": {"since": 1_700_000_000_000_000},
    "combined": {
        "types": ("ipv4",),
        "confidences": ("high",),
        "categories": ("government",),
        "industries_mask": 1 << 7,
    },
}


@pytest.fixture(scope="module", params=BACKENDS)
def store(request, tmp_path_factory):
    database = new_database(request.param, tmp_path_factory.mktemp(f"plans-{request.param}"), request)
    generate(database.url, 20_000)
    engine = database.engine()
    yield engine
    engine.dispose()


def plan_sorts(engine, sql: str, params: list) -> bool:
    """True when the plan sorts rows instead of reading them in index order."""
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            details = " | ".join(row[3] for row in cursor.fetchall())
            return (
                "TEMP B-TREE FOR ORDER BY" in details or "TEMP B-TREE FOR RIGHT PART OF ORDER BY" in details
            )
        cursor.execute("SET enable_sort = off")  # does an index path exist that needs no sort?
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = json.dumps(cursor.fetchone()[0])
        cursor.execute("RESET enable_sort")
        raw.rollback()
        return '"Node Type": "Sort"' in plan or '"Node Type": "Incremental Sort"' in plan


@pytest.mark.parametrize(
    ("sort", "status", "name"),
    list(itertools.product(SORTS, STATUSES, FILTERS)),
    ids=lambda v: v if isinstance(v, str) else repr(v),
)
def test_page_queries_read_in_index_order(store, sort, status, name):
    reader = FeedReader(store)
    flt = IndicatorFilter(statuses=status, **FILTERS[name])
    cursor_at = (1_750_000_000_000_000, 10_000)
    for after, keyset in ((None, "row"), (cursor_at, "row"), (cursor_at, "tie"), (cursor_at, "beyond")):
        sql, params = reader._page_sql(flt, PageRequest(sort[0], sort[1], 100, 0, after), keyset=keyset)
        assert not plan_sorts(store, sql, params), (sort, status, name, after, keyset)


def test_a_cursor_inside_a_tie_seeks_instead_of_stepping_over_it(store):
    """SQLite reads a page after a cursor as the rest of the tie (sort value equal, pk range) and
    then what lies beyond: both are seeks, whatever the size of the batch that shares the value."""
    if store.dialect.name != "sqlite":
        pytest.skip("PostgreSQL seeks a row-value bound whole")
    reader = FeedReader(store)
    page = PageRequest("updated_at", False, 100, 0, (1_750_000_000_000_000, 10_000))
    sql, params = reader._page_sql(IndicatorFilter(), page, keyset="tie")
    with store.connect() as connection:
        cursor = connection.connection.dbapi_connection.cursor()
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(row[3] for row in cursor.fetchall())
    assert "updated_at=? AND pk>?" in plan, plan


def test_counts_use_an_index(store):
    """meta.total for the default feed counts an index range, not the table (SQLite; PostgreSQL's
    planner rightly prefers a sequential scan for a 30%-selective count on a small table)."""
    if store.dialect.name != "sqlite":
        pytest.skip("the count plan is size-dependent on PostgreSQL")
    reader = FeedReader(store)
    where, params = reader._where(IndicatorFilter(types=("ipv4",)))
    with store.connect() as connection:
        cursor = connection.connection.dbapi_connection.cursor()
        cursor.execute(f"EXPLAIN QUERY PLAN SELECT count(*) FROM indicators i{where}", params)
        assert "COVERING INDEX" in " ".join(row[3] for row in cursor.fetchall())


@pytest.mark.parametrize("status", [("active",), None])
@pytest.mark.parametrize("name", ["category", "categories", "industry"])
def test_mask_filters_are_checked_on_the_driving_index(store, status, name):
    """A page filtered by category or industry alone walks an index that carries both masks, so a
    row that does not match costs an index entry, not a table read (a 3% sector on 1M rows: 0.84
    -> 0.40 ms a page on SQLite)."""
    from sqlalchemy import inspect

    from iocfeed.store.feed_reads import _driving_index

    index_name = _driving_index(IndicatorFilter(statuses=status, **FILTERS[name]), "updated_at")
    columns = {ix["name"]: ix["column_names"] for ix in inspect(store).get_indexes("indicators")}
    assert {"categories_mask", "industries_mask"} <= set(columns[index_name])
