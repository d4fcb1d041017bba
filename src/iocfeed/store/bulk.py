"""Bulk statements on the driver's own cursor, for the hot path of big ingests.

SQLAlchemy Core costs more per row than the database does once a batch holds thousands of rows
(statement compilation, parameter dictionaries, result processing), so the upsert's reads and
writes of whole batches go through the DBAPI cursor of the batch's own connection, inside its
transaction, with prebuilt tuples:

- Reading the rows a batch touches: one statement per batch, not one per 500 keys. SQLite reads the
  keys from one JSON array parameter (`json_each`), PostgreSQL from one array (`= ANY(%s)`).
- Inserting new rows: SQLite takes multi-row `INSERT OR ROLLBACK ... VALUES (...), (...)`
  statements of up to `_SQLITE_ROWS_PER_INSERT` rows. Each is one `sqlite3_step`, and the driver
  releases the GIL for a step, so the index maintenance of a thousand rows (most of the cost: the
  two tables have over a dozen indexes) runs while the pipeline's thread canonicalizes the next
  batch. `OR ROLLBACK`: a row that breaks a constraint rolls the whole transaction back, which is
  what a batch does on any error anyway; with the default (ABORT) SQLite must be able to undo the
  one statement alone, so it first copies every page a multi-row statement changes into a statement
  journal. For a million-row ingest that journal was 11 of the 13.8 GB the process wrote (measured
  through /proc/self/io); with ROLLBACK it is kept only for tables with immediate foreign keys
  (sightings), which change few pages a row. PostgreSQL takes
  `COPY ... FROM STDIN`: the rows are new (the single writer checked, in this transaction, that
  their keys are absent), so they are copied straight into the table, no staging needed.
- Updating: `executemany` with tuples.

Connection settings for big ingests (no memory-mapped reads, rarer WAL checkpoints) are
`store.engine.bulk_writes`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from itertools import chain
from typing import Any

import msgspec
from sqlalchemy import Connection

_SQLITE_ROWS_PER_INSERT = 1_000
_json_encode = msgspec.json.Encoder().encode

# The driver binds a parameter of a type it does not know natively through its adapter protocol;
# None is one of those, and the failed adapter lookups cost it 0.46 µs a value against 0.07 µs for
# an integer (a new indicator and its sighting bind five or so). An adapter that returns None, a C
# function (`{}.get`), binds the same NULL in 0.15 µs. Process-wide, and an identity: nothing else
# can tell the difference.
sqlite3.register_adapter(type(None), {}.get)


def is_sqlite(connection: Connection) -> bool:
    return connection.dialect.name == "sqlite"


def _cursor(connection: Connection) -> Any:
    return connection.connection.cursor()  # the DBAPI cursor, in the connection's transaction


def select_where_in(
    connection: Connection, table: str, columns: Sequence[str], key: str, keys: Sequence[object]
) -> list[tuple[Any, ...]]:
    """`SELECT columns FROM table WHERE key IN keys` as one statement, however many keys."""
    if not keys:
        return []
    names = ", ".join(columns)
    cursor = _cursor(connection)
    try:
        if is_sqlite(connection):
            cursor.execute(
                f"SELECT {names} FROM {table} WHERE {key} IN (SELECT value FROM json_each(?))",
                (_json_encode(list(keys)).decode(),),
            )
        else:
            cursor.execute(f"SELECT {names} FROM {table} WHERE {key} = ANY(%s)", (list(keys),))
        return cursor.fetchall()
    finally:
        cursor.close()


def insert_rows(
    connection: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    """Insert `rows` (tuples in `columns` order) into `table`."""
    if not rows:
        return
    names = ", ".join(columns)
    cursor = _cursor(connection)
    try:
        if is_sqlite(connection):
            _sqlite_insert(cursor, table, names, len(columns), rows)
        else:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    finally:
        cursor.close()


def _sqlite_insert(cursor: Any, table: str, names: str, width: int, rows: Sequence[Sequence[object]]) -> None:
    limit = cursor.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per_statement = max(1, min(_SQLITE_ROWS_PER_INSERT, limit // width))
    group = "(" + ", ".join("?" * width) + ")"
    head = f"INSERT OR ROLLBACK INTO {table} ({names}) VALUES "
    full = head + ", ".join([group] * per_statement)
    start = 0
    while len(rows) - start >= per_statement:
        cursor.execute(full, list(chain.from_iterable(rows[start : start + per_statement])))
        start += per_statement
    if start < len(rows):
        chunk = rows[start:]
        statement = head + ", ".join([group] * len(chunk))
        cursor.execute(statement, list(chain.from_iterable(chunk)))


def update_rows(
    connection: Connection, table: str, columns: Sequence[str], key: str, rows: Sequence[Sequence[object]]
) -> None:
    """`UPDATE table SET columns WHERE key = ?` for each row: the column values, then the key."""
    if not rows:
        return
    mark = "?" if is_sqlite(connection) else "%s"
    assignments = ", ".join(f"{name} = {mark}" for name in columns)
    cursor = _cursor(connection)
    try:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {key} = {mark}", rows)
    finally:
        cursor.close()
