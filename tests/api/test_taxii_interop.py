"""The real `taxii2-client` against a live `iocfeed serve` on a loopback port, while an import runs.

The client discovers the server, lists the collections and pages the "all" collection to its end
with `as_pages`; meanwhile another thread imports new indicators into the same database. The pass
must hold every object exactly once, and a final poll with added_after = the newest date_added the
pass returned must bring exactly what was imported meanwhile: together, the database, once.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from taxii2client.v21 import Server, as_pages

from iocfeed.config import Settings
from iocfeed.exports.stix import STIX_TYPE_OF, is_exported
from iocfeed.store.engine import make_engine
from iocfeed.store.migrate import upgrade
from iocfeed.store.schema import indicators
from tests.conftest import ingest_values, make_key

REFERENCE_OBJECTS = 6  # the producer identity and the five TLP markings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, Settings]]:
    """(base url, pro key, settings) of an `iocfeed serve` process over a fresh SQLite feed."""
    database_url = f"sqlite:///{tmp_path / 'feed.sqlite'}"
    settings = Settings(home=tmp_path / "home", database_url=database_url, batch_size=500)
    engine = make_engine(database_url)
    upgrade(engine)
    ingest_values(
        engine, settings, "Seed Feed", "community", [f"45.{i // 250}.{i % 250}.7" for i in range(2_000)]
    )
    ingest_values(engine, settings, "Gov Alerts", "government", ["CVE-2021-44228", "T1071", "TA0011"])
    key, _ = make_key(settings, engine, "pro")
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "IOCFEED_HOME": str(settings.home), "IOCFEED_DATABASE_URL": database_url}
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "iocfeed"), "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                raise AssertionError((tmp_path / "server.log").read_text()[-2000:])
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("iocfeed serve did not start")
            time.sleep(0.1)
        yield base, key, settings
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


def _all_stix_ids(settings: Settings) -> set[str]:
    engine = make_engine(settings.effective_database_url)
    with engine.connect() as connection:
        rows = connection.execute(select(indicators.c.type, indicators.c.value, indicators.c.id)).all()
    engine.dispose()
    return {f"{STIX_TYPE_OF[t]}--{i}" for t, v, i in rows if is_exported(t, v)}


def test_taxii2_client_pages_a_collection_to_its_end_while_an_import_runs(served):
    base, key, settings = served
    server = Server(f"{base}/api/taxii2/", user="apikey", password=key)
    assert server.title == "iocfeed TAXII 2.1"
    api_root = server.default
    assert api_root is not None and api_root.versions == ["application/taxii+json;version=2.1"]
    titles = {collection.title: collection for collection in api_root.collections}
    assert {"All indicators", "Network indicators", "File hashes", "Vulnerabilities"} <= set(titles)
    collection = titles["All indicators"]
    assert collection.can_read and not collection.can_write

    first_batch_written = threading.Event()
    errors: list[BaseException] = []
    imported: list[str] = []

    def importer() -> None:
        engine = make_engine(settings.effective_database_url)
        try:
            for round_number in range(12):
                values = [f"203.{round_number}.{i // 250}.{i % 250 + 1}" for i in range(150)]
                ingest_values(engine, settings, f"Live Feed {round_number % 3}", "commercial", values)
                imported.extend(values)
                first_batch_written.set()
                time.sleep(0.05)
        except BaseException as exc:  # surfaced by the test thread
            errors.append(exc)
            first_batch_written.set()
        finally:
            engine.dispose()

    thread = threading.Thread(target=importer)
    pass_ids: list[str] = []
    newest = ""
    pages = 0
    thread.start()
    first_batch_written.wait(timeout=30)
    for envelope in as_pages(collection.get_objects, per_request=150):
        pages += 1
        for obj in envelope.get("objects", []):
            pass_ids.append(obj["id"])
            newest = max(newest, obj.get("modified", obj["created"]))
        if pages == 2:
            assert thread.is_alive(), "the import must still be running while the client pages"
    thread.join()
    assert not errors, errors
    assert len(pass_ids) == len(set(pass_ids)), "an object came twice in one pass"
    assert pages > 5

    delta_ids: list[str] = []
    for envelope in as_pages(collection.get_objects, per_request=500, added_after=newest):
        delta_ids.extend(obj["id"] for obj in envelope.get("objects", []))
    assert len(delta_ids) == len(set(delta_ids))
    assert not set(delta_ids) & set(pass_ids)
    assert delta_ids, "the final poll must bring what was imported during the pass"

    everything = _all_stix_ids(settings)
    assert len(everything) == 2_000 + 2 + len(imported)  # seed IPs, the CVE and T1071 (TA0011 has no object)
    received = set(pass_ids) | set(delta_ids)
    assert len(received) == len(pass_ids) + len(delta_ids) == len(everything) + REFERENCE_OBJECTS
    assert everything <= received
