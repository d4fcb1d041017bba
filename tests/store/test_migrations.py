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
    from iocfeed.store.migrate import downgrade

    engine = database.engine()
    downgrade(engine, "base")
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision() and schema_drift(engine) == []
    engine.dispose()


def test_dropping_the_type_value_constraint_keeps_every_row_index_and_trigger(database, tmp_path):
    """Migration 0010 rebuilds the SQLite table: sightings must survive (foreign keys are off while
    the old copy is dropped), and the indexes and count triggers must come back."""
    from sqlalchemy import text

    from iocfeed.config import Settings
    from iocfeed.store.migrate import downgrade
    from tests.conftest import ingest_values

    engine = database.engine()
    downgrade(engine, "0009")
    settings = Settings(home=tmp_path / "home", database_url=database.url)
    ingest_values(engine, settings, "Community", "community", ["45.1.1.1", "evil.example.com", "45.1.1.2"])
    ingest_values(engine, settings, "Gov", "government", ["45.1.1.1"])
    before = inspect(engine)
    indexes_before = {index["name"] for index in before.get_indexes("indicators")} - {
        "uq_indicators_type_value"  # PostgreSQL lists a constraint's index among the indexes
    }
    with engine.connect() as connection:
        sightings_before = connection.execute(text("SELECT count(*) FROM sightings")).scalar()
    upgrade(engine, "0010")
    assert current_revision(engine) == "0010"
    after = inspect(engine)
    assert {index["name"] for index in after.get_indexes("indicators")} == indexes_before
    assert [c["name"] for c in after.get_unique_constraints("indicators")] == ["uq_indicators_id"]
    with engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM sightings")).scalar() == sightings_before == 4
        assert connection.execute(text("SELECT count(*) FROM indicators")).scalar() == 3
        # The count triggers came back: an update moves a row between groups.
        connection.execute(text("UPDATE indicators SET status = 'revoked' WHERE value = '45.1.1.2'"))
        revoked = connection.execute(
            text("SELECT sum(n) FROM indicator_counts WHERE status = 'revoked'")
        ).scalar()
        assert revoked == 1
        if database.backend == "sqlite":
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    downgrade(engine, "0009")  # and back: the constraint returns, the rows stay
    assert "uq_indicators_type_value" in {
        c["name"] for c in inspect(engine).get_unique_constraints("indicators")
    }
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM sightings")).scalar() == 4
    upgrade(engine)
    assert current_revision(engine) == head_revision() and schema_drift(engine) == []
    engine.dispose()
