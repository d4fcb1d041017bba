"""The single writer and its clock: what makes delta polling lossless.

Every change a client can see is written inside `write_batch`, which

1. opens a write transaction that excludes every other writer (SQLite: BEGIN IMMEDIATE takes the
   database's write lock; PostgreSQL: SELECT ... FOR UPDATE on the one sync_state row), then
2. takes a clock strictly greater than the last committed one (max(now, last + 1 µs)), stamps every
   row it changes with that clock as `updated_at`, and
3. stores the clock in sync_state in the same transaction, so it becomes visible with the rows.

Readers read sync_state *before* their rows (`read_sync_clock`) and hand it to clients as
`meta.sync_since`. Because batches are serialized, every batch with a clock at or below that value
has committed and is visible to the query that follows, and every batch still in flight (or yet to
come) carries a greater clock. A client that polls with `since=sync_since` therefore misses nothing;
at worst it sees a row twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select, update

from iocfeed.store.schema import sync_state
from iocfeed.timeutil import now_us


@dataclass(frozen=True, slots=True)
class WriteBatch:
    connection: Connection
    clock: int  # µs; updated_at of every row this batch changes


@contextmanager
def write_batch(engine: Engine) -> Iterator[WriteBatch]:
    """One serialized write transaction with its clock. Rolls back entirely on any exception."""
    with engine.connect().execution_options(sqlite_immediate=True) as connection, connection.begin():
        last = connection.execute(
            select(sync_state.c.clock).where(sync_state.c.id == 1).with_for_update()
        ).scalar_one()
        clock = max(now_us(), last + 1)
        yield WriteBatch(connection, clock)
        connection.execute(update(sync_state).where(sync_state.c.id == 1).values(clock=clock))


def read_sync_clock(connection: Connection) -> int:
    """The clock of the last committed batch. Read it before the rows it describes."""
    return connection.execute(select(sync_state.c.clock).where(sync_state.c.id == 1)).scalar_one()
