"""indicator_counts for new indicators on SQLite, counted per batch (migration 0009 says why).

PostgreSQL counts inserts with a statement-level trigger; SQLite has none, so the batch writer
calls `add_inserted` in the transaction that inserts the rows. Updates and deletes are counted by
row triggers on both backends.

The new rows of a batch have consecutive keys (the single writer numbers them from max(pk) + 1),
so they are counted by key range, in SQL: the rows are in the page cache, and the work runs in
SQLite with the GIL released instead of in Python on the writer thread.
"""

from __future__ import annotations

from sqlalchemy import Connection

GROUP_COLUMNS = ("status", "type", "confidence", "categories_mask", "industries_mask")
_GROUP = ", ".join(GROUP_COLUMNS)
_ADD_RANGE = (
    f"INSERT INTO indicator_counts ({_GROUP}, n) "
    f"SELECT {_GROUP}, count(*) FROM indicators WHERE pk BETWEEN ? AND ? GROUP BY {_GROUP} "
    f"ON CONFLICT ({_GROUP}) DO UPDATE SET n = indicator_counts.n + excluded.n"
)


def add_inserted(connection: Connection, first_pk: int, last_pk: int) -> None:
    """Count the indicators just inserted with keys first_pk..last_pk into indicator_counts."""
    if connection.dialect.name != "sqlite":
        return
    cursor = connection.connection.cursor()
    try:
        cursor.execute(_ADD_RANGE, (first_pk, last_pk))
    finally:
        cursor.close()
