"""The ingest lock: one writer at a time, whoever starts it (scheduler, `iocfeed ingest`, `iocfeed import`).

Write batches are already serialized by the database (store.writer); this lock keeps whole runs from
interleaving, so a run's counts, its shrink check and its source state describe that run alone.

- PostgreSQL: a session-level advisory lock on a connection held for the run. The server drops it
  if the process dies, so a crash never leaves the lock behind, and it works across hosts.
- SQLite: an exclusive `flock` on a file next to the database. The kernel drops it with the process;
  SQLite is single-host, so a host-local lock is the whole truth.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from iocfeed.errors import IocfeedError

# pg_advisory_lock key: the bytes of "iocfeed1" read as a signed 64-bit integer. Fixed forever.
_ADVISORY_KEY = int.from_bytes(b"iocfeed1", "big", signed=True)
_POLL_SECONDS = 0.2


class LockTimeout(IocfeedError):
    code = "busy"
    status = 503


@contextmanager
def ingest_lock(engine: Engine, *, timeout: float = 3_600.0, holder: str = "") -> Iterator[None]:
    """Hold the ingest lock for the duration of the block; wait up to `timeout` seconds for it."""
    if engine.dialect.name == "sqlite":
        with _file_lock(_lock_path(engine), timeout, holder):
            yield
    else:
        with _advisory_lock(engine, timeout, holder):
            yield


def _lock_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise IocfeedError("the ingest lock needs a file-backed SQLite database")
    return Path(database).with_name(Path(database).name + ".ingest-lock")


@contextmanager
def _file_lock(path: Path, timeout: float, holder: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"another ingest holds the lock ({path}); gave up after {timeout:g} s"
                    ) from None
                time.sleep(_POLL_SECONDS)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(holder)
            handle.flush()
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def _advisory_lock(engine: Engine, timeout: float, holder: str) -> Iterator[None]:
    with engine.connect() as connection:
        connection.commit()  # no transaction left open while we hold (or wait for) the lock
        deadline = time.monotonic() + timeout
        while not connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": _ADVISORY_KEY}
        ).scalar():
            connection.commit()
            if time.monotonic() >= deadline:
                raise LockTimeout(f"another ingest holds the lock; gave up after {timeout:g} s")
            time.sleep(_POLL_SECONDS)
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_KEY})
            connection.commit()
