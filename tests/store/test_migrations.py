from sqlalchemy import inspect

from iocfeed.store.migrate import current_revision, head_revision, schema_drift, upgrade


def test_upgrade_reaches_head_and_matches_the_schema(database):
    engine = database.engine()
    assert current_revision(engine) == head_revision()
    # The migrations build exactly what schema.py declares (what `alembic check` would verify).
    assert schema_drift(engine) == []
    tables = set(inspect(engine).get_table_names())
    assert {
        "indicators",
        "sources",
        "sightings",
        "articles",
        "accounts",
        "api_keys",
        "usage",
        "ingest_runs",
    } <= tables
    engine.dispose()


def test_upgrade_is_idempotent(database):
    engine = database.engine()
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path):
    from iocfeed.store.engine import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA page_size").scalar() == 16_384  # new files only
    engine.dispose()


def test_every_migration_downgrades_and_upgrades_again(database):
    from alembic import command

    from iocfeed.store.migrate import _config

    engine = database.engine()
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision() and schema_drift(engine) == []
    engine.dispose()
