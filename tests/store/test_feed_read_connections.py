"""The page reader keeps its driver connections between requests: what it reads must still be
current, and a connection the server dropped while it sat idle must cost no failed request."""

from __future__ import annotations

import sqlite3

from sqlalchemy import text

from iocfeed.store.feed_reads import FeedReader
from iocfeed.store.migrate import upgrade
from iocfeed.store.queries import IndicatorFilter, PageRequest
from tests.conftest import ingest_values

PAGE = PageRequest("updated_at", True, 100, 0, None)


def test_a_kept_connection_sees_every_later_write(engine, settings):
    upgrade(engine)
    reader = FeedReader(engine)
    ingest_values(engine, settings, "One", "community", ["45.9.1.1"])
    clock, rows = reader.read_page(IndicatorFilter(), PAGE)
    assert [row[3] for row in rows] == ["45.9.1.1"]
    ingest_values(engine, settings, "One", "community", ["45.9.1.2"])
    later_clock, rows = reader.read_page(IndicatorFilter(), PAGE)
    assert later_clock > clock and {row[3] for row in rows} == {"45.9.1.1", "45.9.1.2"}


def test_a_connection_dropped_while_idle_is_replaced(engine, settings):
    reader, kept = _reader_keeping_one_connection(engine, settings)
    if engine.dialect.name == "sqlite":
        kept.close()  # SQLite has no server to drop it; a closed handle is the nearest thing
        reader._idle[:] = []
    else:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": kept.info.backend_pid})
    _, rows = reader.read_page(IndicatorFilter(), PAGE)
    assert [row[3] for row in rows] == ["45.9.1.1"]
    assert len(reader._idle) == 1 and reader._idle[0] is not kept


def test_close_closes_the_kept_connections(engine, settings):
    reader, kept = _reader_keeping_one_connection(engine, settings)
    reader.close()
    assert reader._idle == []
    closed = kept.closed if engine.dialect.name != "sqlite" else _sqlite_closed(kept)
    assert closed
    _, rows = reader.read_page(IndicatorFilter(), PAGE)  # and reading again just opens another
    assert [row[3] for row in rows] == ["45.9.1.1"]


def _reader_keeping_one_connection(engine, settings):
    """A reader that has read one page over a store of one indicator, and the connection it kept."""
    upgrade(engine)
    reader = FeedReader(engine)
    ingest_values(engine, settings, "One", "community", ["45.9.1.1"])
    reader.read_page(IndicatorFilter(), PAGE)
    (kept,) = reader._idle
    return reader, kept


def _sqlite_closed(connection) -> bool:
    try:
        connection.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False
