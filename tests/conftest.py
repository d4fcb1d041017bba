"""Shared fixtures: a fresh database on each backend, settings in a temp home, the app, keys.

PostgreSQL tests create a throwaway database on the server named by IOCFEED_TEST_POSTGRES_URL
(default: the local server, trust auth) and drop it afterwards; Redis tests use IOCFEED_TEST_REDIS_URL
with a key prefix of their own. Without those servers the tests skip, except under CI=true, where a
missing server is a failure.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from iocfeed.config import Settings, load_tiers, running_under_ci
from iocfeed.keyring import Keyring, load_or_create_secret
from iocfeed.keys import mint_key
from iocfeed.store.accounts import create_account
from iocfeed.store.engine import make_engine
from iocfeed.store.migrate import upgrade

POSTGRES_ADMIN_URL = os.environ.get(
    "IOCFEED_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("IOCFEED_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BACKENDS = ["sqlite", "postgresql"]


def skip_or_fail(reason: str) -> None:
    """A missing server skips the test on a developer's machine and fails it under CI."""
    if running_under_ci():
        pytest.fail(f"{reason} (CI=true: this test must run)")
    pytest.skip(reason)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class Database:
    backend: str
    url: str

    def engine(self) -> Engine:
        return make_engine(self.url)


def _postgres_available() -> bool:
    url = make_url(POSTGRES_ADMIN_URL)
    return _port_open(url.host or "127.0.0.1", url.port or 5432)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    if not _postgres_available():
        skip_or_fail(f"PostgreSQL is not reachable at {make_url(POSTGRES_ADMIN_URL).render_as_string()}")
    engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def new_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Database:
    """A migrated, empty database that is removed when the requesting test (or module) ends."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'iocfeed.db'}"
    else:
        admin: Engine = request.getfixturevalue("postgres_admin")
        name = f"iocfeed_test_{secrets.token_hex(6)}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

        def drop() -> None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

        request.addfinalizer(drop)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return Database(backend, url)


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    return new_database(request.param, tmp_path, request)


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", database_url=database.url, batch_size=50)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.effective_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:
        skip_or_fail(f"Redis is not reachable at {REDIS_URL}")
    return REDIS_URL


def make_key(
    settings: Settings,
    engine: Engine,
    tier: str = "pro",
    account: str | None = None,
    expires_in_days: int | None = None,
) -> tuple[str, str]:
    """(key, key id) of a fresh key on a fresh account of `tier`."""
    settings.ensure_home()
    keyring = Keyring(load_or_create_secret(settings.secret_path))
    owner = create_account(engine, account or f"acct-{secrets.token_hex(4)}", tier)
    minted = mint_key(
        engine, keyring, load_tiers(settings.tiers), owner, name="test", expires_in_days=expires_in_days
    )
    return minted.key, minted.record.id


def ingest_values(
    engine: Engine,
    settings: Settings,
    source: str,
    category: str,
    records: list,
    reliability: int | None = None,
    **mapping_options: object,
):
    """Run records (strings or RawRecords) through the real pipeline as `source`."""
    from iocfeed.articles import ArticleInput
    from iocfeed.pipeline import RecordMapping, ingest_records
    from iocfeed.scoring import DEFAULT_RELIABILITY
    from iocfeed.sources.records import RawRecord
    from iocfeed.store.catalog import SourceSpec

    raw = [
        r if isinstance(r, RawRecord | ArticleInput) else RawRecord(f"line {i}", r)
        for i, r in enumerate(records, start=1)
    ]
    spec = SourceSpec(
        source, category, reliability if reliability is not None else DEFAULT_RELIABILITY[category]
    )
    return ingest_records(engine, settings, spec, raw, RecordMapping(**mapping_options))  # type: ignore[arg-type]
