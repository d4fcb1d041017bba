"""indicator_counts for new indicators on SQLite, counted per batch (migration 0009 says why).

PostgreSQL counts inserts with a statement-level trigger; SQLite has none, so the batch writer
calls `add_inserted` in the transaction that inserts the rows. Updates and deletes are counted by
row triggers on both backends.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import Connection

GROUP_COLUMNS = ("status", "type", "confidence", "categories_mask", "industries_mask")
_GROUP = ", ".join(GROUP_COLUMNS)
_ADD = (
    f"INSERT INTO indicator_counts ({_GROUP}, n) VALUES (?, ?, ?, ?, ?, ?) "
    f"ON CONFLICT ({_GROUP}) DO UPDATE SET n = indicator_counts.n + excluded.n"
)


def add_inserted(connection: Connection, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Count `rows` (just inserted into indicators, in `columns` order) into indicator_counts."""
    if not rows or connection.dialect.name != "sqlite":
        return
    positions = [columns.index(name) for name in GROUP_COLUMNS]
    groups = Counter(tuple(row[p] for p in positions) for row in rows)
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(_ADD, [(*group, n) for group, n in groups.items()])
    finally:
        cursor.close()
