"""A live app per backend over a populated feed, shared by a module's read-only contract tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine, text

from iocfeed.api.app import create_app
from iocfeed.config import Settings
from iocfeed.sources.records import RawRecord
from tests.conftest import BACKENDS, ingest_values, make_key, new_database

COMMUNITY_IPS = [f"45.{i}.10.{i + 1}" for i in range(30)]
SHARED_IPS = COMMUNITY_IPS[:6]  # also reported by the vendor and the government


@dataclass
class Feed:
    client: TestClient
    engine: Engine
    settings: Settings
    pro_key: str
    free_key: str
    backend: str

    def get(self, path: str, key: str | None = None, **params: object):
        headers = {"Authorization": f"Bearer {key or self.pro_key}"}
        return self.client.get(path, params=params or None, headers=headers)


def populate(engine: Engine, settings: Settings) -> None:
    """Three sources, every type, several sectors, three write batches, and every status."""
    ingest_values(
        engine,
        settings,
        "Community List",
        "community",
        [
            *(
                RawRecord(f"line {i}", ip, tags="botnet", industries="energy" if i % 3 == 0 else None)
                for i, ip in enumerate(COMMUNITY_IPS)
            ),
            *(f"malware-{i}.example-bad.com" for i in range(10)),
            *(f"http://phish-{i}.example-bad.net/login.php?id={i}" for i in range(5)),
            *(f"{i:032x}" for i in range(1, 6)),
        ],
    )
    ingest_values(
        engine,
        settings,
        "Vendor Intel",
        "commercial",
        [
            *(
                RawRecord(f"line {i}", ip, industries="healthcare", tags="c2")
                for i, ip in enumerate(SHARED_IPS)
            ),
            *(f"{i:064x}" for i in range(1, 6)),
            *(f"{i:040x}" for i in range(1, 4)),
            *(f"{i:0128x}" for i in range(1, 3)),
            *(f"2a00:1450:4001:{i}::1" for i in range(1, 6)),
            *(f"billing{i}@invoice-fraud.example.org" for i in range(3)),
        ],
    )
    ingest_values(
        engine,
        settings,
        "Gov Alerts",
        "government",
        [
            *(
                RawRecord(f"line {i}", ip, context="C2 named in advisory AA26-001A")
                for i, ip in enumerate(SHARED_IPS[:3])
            ),
            "CVE-2021-44228",
            "cve-2023-4966",
            "CVE-2024-3400",
            "CVE-2019-19781",
            "T1059.001",
            "T1566",
            "TA0011",
        ],
        industries=("water", "financial-services"),
    )
    ingest_values(
        engine,
        settings,
        "Paste Site",
        "community",
        [
            "http://paste-drop.example-bad.org/a",
            "http://paste-drop.example-bad.org/b",
        ],
        reliability=30,
    )
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE indicators SET status='revoked' WHERE value = 'malware-0.example-bad.com'")
        )
        connection.execute(
            text(
                "UPDATE indicators SET status='false-positive', status_reason='test list' "
                "WHERE value = 'malware-1.example-bad.com'"
            )
        )
        connection.execute(
            text("UPDATE indicators SET status='expired' WHERE value = 'malware-2.example-bad.com'")
        )


@pytest.fixture(scope="module", params=BACKENDS)
def feed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Feed]:
    tmp_path = tmp_path_factory.mktemp(f"feed-{request.param}")
    database = new_database(request.param, tmp_path, request)
    # Contract tests call the API many times with the free key: lift its rate (the tiers file is
    # the operator's way to do that, so it is exercised too). Rate limits have tests of their own.
    tiers = tmp_path / "tiers.toml"
    tiers.write_text("[free]\nrequests_per_minute = 0\nrequests_per_day = 0\n")
    settings = Settings(home=tmp_path / "home", database_url=database.url, batch_size=1000, tiers=tiers)
    engine = database.engine()
    populate(engine, settings)
    pro_key, _ = make_key(settings, engine, "pro")
    free_key, _ = make_key(settings, engine, "free")
    app = create_app(settings)
    with TestClient(app=app) as client:
        yield Feed(client, engine, settings, pro_key, free_key, request.param)
    engine.dispose()


@pytest.fixture
def live(request: pytest.FixtureRequest, database, tmp_path) -> Iterator[Feed]:
    """A fresh app over an empty database (for tests that write or count requests). Key lookups are
    not cached here, so a revocation shows on the very next request."""
    settings = Settings(
        home=tmp_path / "home", database_url=database.url, batch_size=1000, key_cache_seconds=0
    )
    engine = database.engine()
    pro_key, _ = make_key(settings, engine, "pro")
    free_key, _ = make_key(settings, engine, "free")
    with TestClient(app=create_app(settings)) as client:
        yield Feed(client, engine, settings, pro_key, free_key, database.backend)
    engine.dispose()
