"""Write transactions that are not indicator changes (accounts, keys, runs, sources)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction; on SQLite it takes the write lock up front (BEGIN IMMEDIATE), so a
    read-then-write never fails halfway with "database is locked" when another writer got in first."""
    with engine.connect().execution_options(sqlite_immediate=True) as connection, connection.begin():
        yield connection
