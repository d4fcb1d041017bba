"""GET /api/v1/iocs/misp, /cef, /openioc, /sigma: tier, media type, filters, caps, consumers, streaming."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Iterator
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
import pytest
import yaml
from litestar import Litestar
from litestar.testing import TestClient
from pymisp import MISPEvent

from iocfeed.api.app import create_app
from iocfeed.api.exporting import EXPORT_BATCH
from iocfeed.config import Settings
from iocfeed.exports.openioc import OPENIOC_NAMESPACE
from tests.api.conftest import COMMUNITY_IPS, Feed
from tests.conftest import ingest_values, make_key, new_database

ENDPOINTS = {
    "/api/v1/iocs/misp": "application/json",
    "/api/v1/iocs/cef": "text/plain; charset=utf-8",
    "/api/v1/iocs/openioc": "application/xml",
    "/api/v1/iocs/sigma": "application/yaml",
}
NS = {"ioc": OPENIOC_NAMESPACE}


def misp_attributes(feed: Feed, **params: object) -> list[dict]:
    response = feed.get("/api/v1/iocs/misp", **params)
    assert response.status_code == 200, response.text
    return response.json()["Event"]["Attribute"]


def cef_lines(feed: Feed, **params: object) -> list[str]:
    response = feed.get("/api/v1/iocs/cef", **params)
    assert response.status_code == 200, response.text
    return response.text.splitlines()


def openioc_items(feed: Feed, **params: object) -> list[Element]:
    response = feed.get("/api/v1/iocs/openioc", **params)
    assert response.status_code == 200, response.text
    return SafeET.fromstring(response.content).findall("ioc:definition/ioc:Indicator/ioc:IndicatorItem", NS)


def sigma_rules(feed: Feed, **params: object) -> list[dict]:
    response = feed.get("/api/v1/iocs/sigma", **params)
    assert response.status_code == 200, response.text
    return list(yaml.safe_load_all(response.text))


@pytest.mark.parametrize(("path", "media_type"), ENDPOINTS.items())
def test_pro_gets_the_format_with_its_media_type(feed: Feed, path, media_type):
    response = feed.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    assert response.headers["x-request-id"].startswith("req_")
    assert response.content


@pytest.mark.parametrize("path", ENDPOINTS)
def test_free_tier_gets_403_tier_required(feed: Feed, path):
    response = feed.get(path, key=feed.free_key)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "tier_required"
    assert error["details"]["required_tier"] == "pro"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_no_key_is_401_and_bad_filters_are_400(feed: Feed, path):
    assert feed.client.get(path).json()["error"]["code"] == "missing_api_key"
    for params in (
        {"type": "ipv5"},
        {"limit": "0"},
        {"confidence": "sure"},
        {"since": "yesterday"},
        {"offset": "10"},  # an export has no pages: refused, not silently ignored
        {"cursor": "abc"},
    ):
        response = feed.get(path, **params)
        assert response.status_code == 400, params
        error = response.json()["error"]
        assert error["code"] == "invalid_parameter"
        assert error["details"]["parameter"] == next(iter(params))


@pytest.mark.parametrize("path", ENDPOINTS)
def test_sync_since_header_starts_the_next_delta_export(feed: Feed, path):
    response = feed.get(path, type="ipv4")
    sync_since = response.headers["x-sync-since"]
    assert sync_since.endswith("Z")
    # Nothing was written since: a delta export from there holds no indicator.
    assert feed.get("/api/v1/iocs", since=sync_since).json()["meta"]["total"] == 0


def test_type_filter_applies_to_every_format(feed: Feed):
    assert {a["type"] for a in misp_attributes(feed, type="ipv4")} == {"ip-dst"}
    assert {a["value"] for a in misp_attributes(feed, type="ipv4")} == set(COMMUNITY_IPS)
    assert {line.split("|")[4] for line in cef_lines(feed, type="ipv4")} == {"ipv4"}
    items = openioc_items(feed, type="ipv4")
    assert {item.find("ioc:Context", NS).get("search") for item in items} == {"PortItem/remoteIP"}
    assert len(items) == len(COMMUNITY_IPS)
    rules = sigma_rules(feed, type="ipv4")
    assert {(r["logsource"]["category"], *r["detection"]["selection"]) for r in rules} == {
        ("network_connection", "DestinationIp")
    }
    assert len(rules) == len(COMMUNITY_IPS)


def test_category_and_status_filters_apply(feed: Feed):
    government = misp_attributes(feed, category="government")
    assert government and all(a["comment"].startswith("Gov Alerts") for a in government)
    active_domains = {a["value"] for a in misp_attributes(feed, type="domain")}
    assert "malware-0.example-bad.com" not in active_domains  # revoked: out of the default feed
    everything = {a["value"]: a for a in misp_attributes(feed, type="domain", status="all")}
    assert everything["malware-0.example-bad.com"]["to_ids"] is False
    assert everything["malware-3.example-bad.com"]["to_ids"] is True
    revoked_rules = sigma_rules(feed, type="domain", status="revoked")
    assert {(r["status"], r["level"]) for r in revoked_rules} == {("deprecated", "informational")}


@pytest.mark.parametrize("path", ENDPOINTS)
def test_limit_bounds_the_export(feed: Feed, path):
    lines = cef_lines(feed, limit=3)
    assert len(lines) == 3
    assert len(misp_attributes(feed, type="ipv4", limit=3)) == 3
    assert len(openioc_items(feed, type="ipv4", limit=3)) == 3
    assert len(sigma_rules(feed, type="ipv4", limit=3)) == 3
    assert feed.get(path, limit=3).status_code == 200


def test_limit_is_capped_at_the_tier_max_export(feed: Feed, tmp_path):
    tiers = tmp_path / "tiers.toml"
    tiers.write_text("[pro]\nmax_export = 4\n")
    settings = Settings(home=feed.settings.home, database_url=feed.settings.database_url, tiers=tiers)
    with TestClient(app=create_app(settings)) as client:
        headers = {"Authorization": f"Bearer {feed.pro_key}"}
        for params in ({}, {"limit": "50"}):
            response = client.get("/api/v1/iocs/cef", params=params, headers=headers)
            assert response.status_code == 200
            assert len(response.text.splitlines()) == 4


def test_cef_format_parameter(feed: Feed):
    cef = cef_lines(feed, type="domain", format="cef")
    assert cef == cef_lines(feed, type="domain")
    assert all(line.startswith("CEF:0|iocfeed|iocfeed|") for line in cef)
    syslog = cef_lines(feed, type="domain", format="syslog")
    assert len(syslog) == len(cef)
    assert all(line.startswith("<") and " [ioc@32473 " in line and "] CEF:0|" in line for line in syslog)
    response = feed.get("/api/v1/iocs/cef", format="leef")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"parameter": "format", "allowed": ["cef", "syslog"]}


def test_misp_export_of_the_whole_feed_loads_in_pymisp(feed: Feed):
    response = feed.get("/api/v1/iocs/misp", status="all")
    exported = response.json()
    event = MISPEvent()
    event.load(response.content.decode())
    assert event.uuid == exported["Event"]["uuid"]
    assert len(event.attributes) == len(exported["Event"]["Attribute"]) > 50
    written = {a["uuid"]: a for a in exported["Event"]["Attribute"]}
    for attribute in event.attributes:
        original = written[attribute.uuid]
        assert (attribute.type, attribute.category, attribute.value, attribute.to_ids) == (
            original["type"], original["category"], original["value"], original["to_ids"]
        )  # fmt: skip
    event_tags = [tag.name for tag in event.tags]
    assert 'misp-galaxy:mitre-attack-pattern="PowerShell - T1059.001"' in event_tags
    assert 'misp-galaxy:mitre-attack-pattern="Phishing - T1566"' in event_tags
    # The same filters give the same event (a re-import updates it); others, another event.
    assert feed.get("/api/v1/iocs/misp", status="all").json()["Event"]["uuid"] == event.uuid
    assert feed.get("/api/v1/iocs/misp", status="all", type="ipv4").json()["Event"]["uuid"] != event.uuid


def test_every_sigma_rule_of_the_feed_is_well_formed(feed: Feed):
    rules = sigma_rules(feed, status="all")
    assert len(rules) > 50
    for rule in rules:
        assert rule["title"] and rule["logsource"]["category"] and rule["detection"]["condition"]
    assert len({rule["id"] for rule in rules}) == len(rules)


# --- streaming: the app is driven through raw ASGI so that nothing buffers the body -------------

BIG = 5 * EXPORT_BATCH


@pytest.fixture(scope="module")
def big_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    tmp_path = tmp_path_factory.mktemp("big-export")
    database = new_database("sqlite", tmp_path, request)
    settings = Settings(home=tmp_path / "home", database_url=database.url, batch_size=5000)
    engine = database.engine()
    values = [f"{i:064x}" for i in range(1, BIG // 2 + 1)]
    values += [f"host-{i}.bulk.example-bad.com" for i in range(BIG // 2)]
    ingest_values(engine, settings, "Bulk", "community", values)
    key, _ = make_key(settings, engine, "internal")  # no rate limit, a 1,000,000 export cap
    yield create_app(settings), key
    engine.dispose()


def stream(app: Litestar, path: str, query: str, key: str) -> tuple[int, int, int]:
    """(status, body messages, body bytes) of one request; each chunk is dropped as it arrives."""
    messages = {"status": 0, "chunks": 0, "bytes": 0}
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": query.encode(), "headers": [(b"host", b"test"), (b"authorization", f"Bearer {key}".encode())],
        "client": ("127.0.0.1", 50000), "server": ("test", 80), "state": {},
    }  # fmt: skip

    requested = False
    finished = asyncio.Event()

    async def receive() -> dict:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()  # as a server does: "disconnect" only once the response is complete
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            messages["status"] = message["status"]
        elif message["type"] == "http.response.body":
            if message.get("body"):
                messages["chunks"] += 1
                messages["bytes"] += len(message["body"])
            if not message.get("more_body"):
                finished.set()

    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    return messages["status"], messages["chunks"], messages["bytes"]


def peak_memory(app: Litestar, path: str, query: str, key: str) -> tuple[int, int, int]:
    tracemalloc.start()
    try:
        status, chunks, size = stream(app, path, query, key)
        return tracemalloc.get_traced_memory()[1], chunks, size
    finally:
        tracemalloc.stop()
        assert status == 200


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_larger_export_keeps_memory_flat(big_app, path):
    app, key = big_app
    stream(app, path, "limit=100", key)  # warm up: imports, caches, the first connection
    # Two batches (EXPORT_BATCH rows each) is the steady state: the previous batch is still referenced
    # while the next one is read. From there on, more rows must not mean more memory.
    small_peak, small_chunks, small_size = peak_memory(app, path, f"limit={2 * EXPORT_BATCH}", key)
    large_peak, large_chunks, large_size = peak_memory(app, path, f"limit={BIG}", key)
    assert large_size > 2 * small_size
    assert large_chunks > small_chunks  # written batch by batch, not as one body
    assert large_peak < 1.25 * small_peak, (small_peak, large_peak, large_size)
