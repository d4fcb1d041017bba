"""Schema migrations (Alembic), run from code: `iocfeed db upgrade`, and at start-up of `iocfeed demo`."""

from __future__ import annotations

import warnings
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, insert, select

from iocfeed.store.schema import metadata, sync_state

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` and make sure the write clock row exists."""
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    with engine.begin() as connection:
        if connection.execute(select(sync_state.c.id)).first() is None:
            connection.execute(insert(sync_state).values(id=1, clock=0))


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
