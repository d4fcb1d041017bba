"""GET /api/v1/iocs/stix: tier, filters, TLP, limit, validity, and flat memory while streaming."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections import Counter
from urllib.parse import urlencode

import pytest
import stix2
from stix2validator import ValidationOptions, validate_instance

from iocfeed.api.app import create_app
from iocfeed.config import Settings
from iocfeed.exports.stix import PRODUCER_IDENTITY, STIX_MEDIA_TYPE, TLP_MARKING_IDS
from tests.conftest import ingest_values, make_key, new_database

STIX = "/api/v1/iocs/stix"


def kinds(bundle: dict) -> Counter:
    return Counter(obj["type"] for obj in bundle["objects"])


def by_name(bundle: dict) -> dict[str, dict]:
    return {obj["name"]: obj for obj in bundle["objects"] if obj["type"] not in ("marking-definition",)}


def test_pro_gets_a_valid_bundle(feed):
    response = feed.get(STIX, status="all")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == STIX_MEDIA_TYPE
    assert response.headers["x-sync-since"].endswith("Z")
    assert response.headers["x-request-id"].startswith("req_")
    bundle = response.json()
    assert bundle["type"] == "bundle" and bundle["objects"][0] == PRODUCER_IDENTITY
    counts = kinds(bundle)
    assert counts["vulnerability"] == 4 and counts["attack-pattern"] == 2  # TA0011 is a tactic: no object
    assert counts["indicator"] == 70
    results = validate_instance(bundle, ValidationOptions(enforce_refs=True))
    assert results.is_valid and not results.errors, [str(e) for e in results.errors]
    stix2.parse(bundle, allow_custom=False)


def test_free_tier_gets_403(feed):
    response = feed.get(STIX, key=feed.free_key)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "tier_required" and error["details"]["required_tier"] == "pro"


def test_missing_key_is_401(feed):
    response = feed.client.get(STIX)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_api_key"


def test_filters_apply(feed):
    bundle = feed.get(STIX, type="cve").json()
    assert set(kinds(bundle)) == {"identity", "marking-definition", "vulnerability"}
    bundle = feed.get(STIX, type="ipv4,domain", category="government").json()
    names = [o["name"] for o in bundle["objects"] if o["type"] == "indicator"]
    assert names and all(name.startswith("IPv4 address ") for name in names)  # gov reported only IPs
    assert len(names) == 3


def test_withdrawn_indicators_only_with_status_all(feed):
    default = by_name(feed.get(STIX, type="domain").json())
    assert "Domain malware-0.example-bad.com" not in default
    assert not any(obj.get("revoked") for obj in default.values())
    everything = by_name(feed.get(STIX, type="domain", status="all").json())
    assert everything["Domain malware-0.example-bad.com"]["revoked"] is True
    assert everything["Domain malware-1.example-bad.com"]["revoked"] is True  # false positive
    assert "valid_until" in everything["Domain malware-2.example-bad.com"]  # expired
    assert "revoked" not in everything["Domain malware-3.example-bad.com"]


def test_default_tlp_per_confidence_and_overrides(feed):
    bundle = feed.get(STIX, status="all").json()
    used = {ref for obj in bundle["objects"] for ref in obj.get("object_marking_refs", [])}
    defined = {obj["id"] for obj in bundle["objects"] if obj["type"] == "marking-definition"}
    assert used == defined and used <= {TLP_MARKING_IDS[level] for level in ("clear", "green", "amber")}
    # `+` must be percent-encoded in a query string; unencoded it arrives as a space: both work.
    for raw in ("amber%2Bstrict", "amber+strict", "TLP:RED"):
        response = feed.client.get(f"{STIX}?tlp={raw}", headers={"X-API-Key": feed.pro_key})
        level = "red" if raw == "TLP:RED" else "amber+strict"
        markings = [o["id"] for o in response.json()["objects"] if o["type"] == "marking-definition"]
        assert markings == [TLP_MARKING_IDS[level]], raw


def test_bad_tlp_and_paging_parameters_are_400(feed):
    response = feed.get(STIX, tlp="purple")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["details"]["parameter"] == "tlp" and "amber+strict" in error["details"]["allowed"]
    assert feed.get(STIX, offset=5).json()["error"]["details"]["parameter"] == "offset"
    assert feed.get(STIX, cursor="abc").json()["error"]["details"]["parameter"] == "cursor"
    assert feed.get(STIX, type="bogus").json()["error"]["details"]["parameter"] == "type"


def test_limit_caps_the_export(feed):
    bundle = feed.get(STIX, type="ipv4", limit=5).json()
    assert kinds(bundle)["indicator"] == 5
    assert feed.get(STIX, limit=0).status_code == 400


# Memory: drive the ASGI app directly and throw each chunk away as it arrives (the test client
# would buffer the whole body), measuring the peak of everything allocated while the export runs.


async def _consume(app, path: str, key: str) -> tuple[int, int, int]:
    """(status, body bytes, chunks) of a GET, each chunk dropped once counted."""
    path, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
        "root_path": "", "headers": [(b"host", b"testserver"), (b"x-api-key", key.encode())],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip
    done = asyncio.Event()
    requested = False
    status, size, chunks = 0, 0, 0

    async def receive() -> dict:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()  # the server listens for a disconnect while it streams
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        nonlocal status, size, chunks
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            size += len(message.get("body", b""))
            chunks += 1
            if not message.get("more_body", False):
                done.set()

    await app(scope, receive, send)
    return status, size, chunks


def _peak_of_export(app, key: str, limit: int) -> tuple[int, int, int]:
    tracemalloc.start()
    try:
        status, size, chunks = asyncio.run(_consume(app, f"{STIX}?{urlencode({'limit': limit})}", key))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert status == 200
    return peak, size, chunks


@pytest.fixture(scope="module")
def big_feed(request, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("stix-big")
    database = new_database("sqlite", tmp_path, request)
    settings = Settings(home=tmp_path / "home", database_url=database.url, batch_size=5_000)
    engine = database.engine()
    values = [f"http://host-{i}.example-bad.com/payload?id={i}" for i in range(20_000)]
    ingest_values(engine, settings, "Bulk Feed", "community", values)
    key, _ = make_key(settings, engine, "pro")
    yield create_app(settings), key
    engine.dispose()


def test_memory_stays_flat_as_the_export_grows(big_feed):
    app, key = big_feed
    _peak_of_export(app, key, 100)  # warm caches (ATT&CK table, SQL compilation) outside the measure
    small_peak, small_size, _ = _peak_of_export(app, key, 5_000)
    large_peak, large_size, large_chunks = _peak_of_export(app, key, 20_000)
    assert large_size > 3.5 * small_size  # four times the indicators ...
    assert large_chunks >= 10  # ... sent in many chunks, not one body
    # ... in about the same memory: one batch of rows and objects (EXPORT_BATCH) at a time. A body
    # kept whole would add the 15,000 extra indicators' bytes (about 10 MB) to the peak.
    growth = large_peak - small_peak
    assert large_peak < 1.3 * small_peak, (small_peak, large_peak)
    assert growth < (large_size - small_size) / 5, (growth, large_size - small_size)
