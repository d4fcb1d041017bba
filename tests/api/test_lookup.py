"""Search and lookup: canonicalized input (defanged accepted), substring, related, hunting queries."""

from __future__ import annotations

import pytest

from iocfeed.hunting import hunting_queries
from tests.api.conftest import SHARED_IPS


def test_lookup_of_a_known_value_explains_it(feed):
    defanged = SHARED_IPS[0].replace(".", "[.]")
    body = feed.get("/api/v1/lookup", value=defanged).json()["data"]
    assert body["found"] is True and body["value"] == SHARED_IPS[0] and body["type"] == "ipv4"
    assert [s["feed_name"] for s in body["sources"]] == ["Gov Alerts", "Vendor Intel", "Community List"]
    assert body["score"] == body["score_breakdown"]["score"]
    assert "corroborating" in body["score_breakdown"]["explanation"]
    assert set(body["hunting_queries"]) == {"splunk_spl", "sentinel_kql"}
    assert SHARED_IPS[0] in body["hunting_queries"]["splunk_spl"]


def test_lookup_of_an_unknown_value_is_not_safe(feed):
    body = feed.get("/api/v1/lookup", value="hxxp://never-seen[.]example-bad.org/x").json()["data"]
    assert body["found"] is False and body["value"] == "http://never-seen.example-bad.org/x"
    assert "not the same as safe" in body["note"]
    assert body["hunting_queries"]["sentinel_kql"]


def test_lookup_names_attack_techniques(feed):
    body = feed.get("/api/v1/lookup", value="t1059.001").json()["data"]
    assert body["found"] and body["value"] == "T1059.001"
    assert body["mitre_technique_names"][0] == {"id": "T1059.001", "name": "PowerShell"}


@pytest.mark.parametrize(
    ("params", "parameter"),
    [({"value": "not an indicator"}, "value"), ({}, "value"), ({"value": "1.2.3.4", "type": "ip4"}, "type")],
)
def test_lookup_bad_input(feed, params, parameter):
    response = feed.get("/api/v1/lookup", **params)
    assert response.status_code == 400 and response.json()["error"]["details"]["parameter"] == parameter


def test_lookup_with_a_type_hint(feed):
    assert feed.get("/api/v1/lookup", value="CVE-2021-44228", type="cve").json()["data"]["found"] is True


def test_search_exact_then_substring(feed):
    body = feed.get("/api/v1/iocs/search", q="MALWARE-3.example-bad[.]com").json()
    assert body["data"][0]["match"] == "exact" and body["data"][0]["value"] == "malware-3.example-bad.com"
    substring = feed.get("/api/v1/iocs/search", q="example-bad.com").json()
    matches = {r["value"] for r in substring["data"] if r["match"] == "substring"}
    assert {f"malware-{i}.example-bad.com" for i in range(10)} <= matches
    assert substring["meta"]["substring"] == len(matches)


def test_search_escapes_like_wildcards_and_short_queries(feed):
    assert feed.get("/api/v1/iocs/search", q="%%%").json()["data"] == []
    assert feed.get("/api/v1/iocs/search", q="__").json()["data"] == []
    response = feed.get("/api/v1/iocs/search")
    assert response.status_code == 400 and response.json()["error"]["details"]["parameter"] == "q"


def test_search_related_from_the_same_articles(live):
    from tests.conftest import ingest_values

    page = (
        "<html><head><title>Advisory</title></head><body><main>C2 servers 194.26.135[.]89 and "
        "194.26.135[.]90, payload hxxps://glasstide-update[.]net/agent.bin</main></body></html>"
    )
    from iocfeed.articles import ArticleInput
    from iocfeed.sources.records import RawArticle

    ingest_values(
        live.engine,
        live.settings,
        "CISA Alerts",
        "government",
        [ArticleInput(RawArticle("x", "Advisory", "https://cisa.example/aa", content=page))],
    )
    body = live.get("/api/v1/iocs/search", q="194.26.135.89", include_related="true").json()
    kinds = {(r["match"], r["value"]) for r in body["data"]}
    assert ("exact", "194.26.135.89") in kinds
    assert ("related", "194.26.135.90") in kinds and (
        "related",
        "https://glasstide-update.net/agent.bin",
    ) in kinds


@pytest.mark.parametrize(
    "indicator_type",
    ["ipv4", "ipv6", "domain", "url", "md5", "sha1", "sha256", "sha512", "email", "cve", "mitre-attack"],
)
def test_hunting_queries_escape_values(indicator_type):
    queries = hunting_queries(indicator_type, 'evil"value\\with"quotes')
    assert 'evil\\"value\\\\with\\"quotes' in queries.splunk_spl
    assert '@"evil""value\\with""quotes"' in queries.sentinel_kql
