"""Schema migrations (Alembic), run from code: `iocfeed db upgrade`, and at start-up of `iocfeed demo`."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, insert, select

from iocfeed.store.schema import metadata, sync_state

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@contextmanager
def _migrating(engine: Engine) -> Iterator[Config]:
    """A configuration whose migrations run in one transaction on one connection.

    On SQLite, with foreign keys off while they run: a migration that rebuilds a table (SQLite
    cannot drop a constraint otherwise) drops the old copy, and with foreign keys on that would
    cascade to the rows that reference it. The pragma is a no-op inside a transaction, so it is set
    before the transaction begins, and put back after; each rebuild checks the keys itself.
    """
    config = _config()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _driver(connection).execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                yield config
        finally:
            if sqlite:
                _driver(connection).execute("PRAGMA foreign_keys=ON")


def _driver(connection: Connection):  # type: ignore[no-untyped-def]
    return connection.connection.driver_connection


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` and make sure the write clock row exists."""
    with _migrating(engine) as config:
        command.upgrade(config, revision)
    with engine.begin() as connection:
        if connection.execute(select(sync_state.c.id)).first() is None:
            connection.execute(insert(sync_state).values(id=1, clock=0))


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to `revision` ("base": empty)."""
    with _migrating(engine) as config:
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def schema_drift(engine: Engine) -> list[object]:
    """Differences between the migrated database and schema.py (empty when migrations are complete)."""
    with engine.connect() as connection, warnings.catch_warnings():
        # Neither backend's reflection can compare expression indexes; the migration creates it.
        warnings.simplefilter("ignore")
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def autogenerate(engine: Engine, message: str) -> None:
    """Developer tool: write a new revision from the difference between schema.py and `engine`."""
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
