"""Every rule of API.md's GET /api/v1/iocs section, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from iocfeed.timeutil import parse_instant
from tests.api.conftest import COMMUNITY_IPS, SHARED_IPS

ALL_STATUSES_TOTAL = 30 + 10 + 5 + 2 + 5 + 5 + 3 + 2 + 5 + 3 + 4 + 3  # every distinct indicator


def all_rows(feed, **params):
    """Every row for params, by following the cursor (limit 1000 keeps it to one or two pages)."""
    rows, cursor = [], None
    while True:
        query = dict(params, limit=params.get("limit", 1000))
        if cursor:
            query["cursor"] = cursor
        body = feed.get("/api/v1/iocs", **query).json()
        rows.extend(body["data"])
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            return rows


def test_the_seed_example_returns_the_documented_shape(feed):
    response = feed.get("/api/v1/iocs", type="ipv4", confidence="high", limit=100)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"meta", "data", "links"}
    meta = body["meta"]
    assert isinstance(meta["total"], int) and meta["limit"] == 100 and meta["offset"] == 0
    assert body["data"], "the shared IPs are high confidence"
    for record in body["data"]:
        assert record["type"] == "ipv4" and record["confidence"] == "high"
        assert isinstance(record["value"], str)
        assert set(record["source"]) >= {"feed_name", "category"}
        assert record["source"]["category"] in ("government", "commercial", "community")


def test_record_fields(feed):
    record = feed.get("/api/v1/iocs", type="ipv4", confidence="high", limit=1).json()["data"][0]
    assert set(record) == {
        "id",
        "type",
        "value",
        "confidence",
        "score",
        "status",
        "first_seen",
        "last_seen",
        "updated_at",
        "source",
        "source_count",
        "industries",
        "tags",
        "mitre_techniques",
        "context",
    }
    assert set(record["source"]) == {
        "feed_name",
        "category",
        "origin",
        "article_id",
        "article_title",
        "article_url",
        "reference_url",
    }
    assert 0 <= record["score"] <= 100
    for name in ("first_seen", "last_seen", "updated_at"):
        assert record[name].endswith("Z")


def test_meta_fields_and_default_sort(feed):
    meta = feed.get("/api/v1/iocs").json()["meta"]
    assert set(meta) == {"total", "limit", "offset", "generated_at", "next_cursor", "sync_since", "filters"}
    assert meta["limit"] == 100 and meta["offset"] == 0
    assert meta["filters"]["status"] == ["active"] and meta["filters"]["sort"] == "-updated_at"
    assert meta["generated_at"].endswith("Z") and meta["sync_since"].endswith("Z")


def test_confidence_is_the_band_of_the_score(feed):
    for record in all_rows(feed, status="all"):
        expected = "high" if record["score"] >= 75 else "medium" if record["score"] >= 50 else "low"
        assert record["confidence"] == expected, record


def test_default_status_is_active_and_total_counts_all_matches(feed):
    body = feed.get("/api/v1/iocs", limit=5).json()
    assert len(body["data"]) == 5
    assert body["meta"]["total"] == ALL_STATUSES_TOTAL - 3
    assert {r["status"] for r in all_rows(feed)} == {"active"}


@pytest.mark.parametrize(
    ("status", "values"),
    [
        ("revoked", {"malware-0.example-bad.com"}),
        ("false-positive", {"malware-1.example-bad.com"}),
        ("expired", {"malware-2.example-bad.com"}),
    ],
)
def test_status_filter(feed, status, values):
    rows = all_rows(feed, status=status)
    assert {r["value"] for r in rows} == values and {r["status"] for r in rows} == {status}


def test_status_all_includes_every_status(feed):
    rows = all_rows(feed, status="all")
    assert len(rows) == ALL_STATUSES_TOTAL
    assert {r["status"] for r in rows} == {"active", "revoked", "false-positive", "expired"}
    assert feed.get("/api/v1/iocs", status="revoked,expired").json()["meta"]["total"] == 2


@pytest.mark.parametrize(
    ("type_", "count"),
    [
        ("ipv4", 30),
        ("ipv6", 5),
        ("domain", 7),
        ("url", 7),
        ("md5", 5),
        ("sha1", 3),
        ("sha256", 5),
        ("sha512", 2),
        ("cve", 4),
        ("mitre-attack", 3),
        ("email", 3),
    ],
)
def test_type_filter(feed, type_, count):
    rows = all_rows(feed, type=type_)
    assert len(rows) == count and {r["type"] for r in rows} == {type_}


def test_type_comma_list_and_alias(feed):
    assert feed.get("/api/v1/iocs", type="ipv4,ipv6").json()["meta"]["total"] == 35
    assert feed.get("/api/v1/iocs", type="mitre_attack").json()["meta"]["total"] == 3
    assert feed.get("/api/v1/iocs", type="IPV6").json()["meta"]["total"] == 5
    response = feed.client.get("/api/v1/iocs?type=cve&type=email", headers={"X-API-Key": feed.pro_key})
    assert response.json()["meta"]["total"] == 7


def test_canonical_values_are_served(feed):
    values = {r["value"] for r in all_rows(feed, type="cve,mitre-attack")}
    assert values == {
        "CVE-2021-44228",
        "CVE-2023-4966",
        "CVE-2024-3400",
        "CVE-2019-19781",
        "T1059.001",
        "T1566",
        "TA0011",
    }


def test_confidence_and_min_confidence(feed):
    by_band = {band: {r["id"] for r in all_rows(feed, confidence=band)} for band in ("high", "medium", "low")}
    for band, ids in by_band.items():
        assert all(r["confidence"] == band for r in all_rows(feed, confidence=band))
        assert ids
    assert {r["id"] for r in all_rows(feed, min_confidence="medium")} == by_band["high"] | by_band["medium"]
    assert {r["id"] for r in all_rows(feed, min_confidence="low")} == set().union(*by_band.values())
    assert {r["id"] for r in all_rows(feed, min_confidence="high")} == by_band["high"]
    assert {r["id"] for r in all_rows(feed, confidence="high,low")} == by_band["high"] | by_band["low"]
    # Both: the intersection.
    assert all_rows(feed, confidence="low", min_confidence="medium") == []


def test_category_matches_any_source_and_picks_that_categorys_source(feed):
    government = all_rows(feed, category="government")
    assert len(government) == 3 + 4 + 3
    assert {r["source"]["category"] for r in government} == {"government"}
    commercial = {r["value"]: r for r in all_rows(feed, category="commercial", type="ipv4")}
    assert set(commercial) == set(SHARED_IPS)
    assert all(r["source"]["feed_name"] == "Vendor Intel" for r in commercial.values())
    community = {r["value"]: r for r in all_rows(feed, category="community", type="ipv4")}
    assert set(community) == set(COMMUNITY_IPS)
    assert community[SHARED_IPS[0]]["source"]["feed_name"] == "Community List"
    both = all_rows(feed, category="commercial,community", type="ipv4")
    assert len(both) == 30
    shared = next(r for r in both if r["value"] == SHARED_IPS[0])
    assert shared["source"]["feed_name"] == "Vendor Intel"  # most reliable of the asked categories


def test_source_is_the_most_reliable_overall(feed):
    record = next(r for r in all_rows(feed, type="ipv4") if r["value"] == SHARED_IPS[0])
    assert record["source"]["feed_name"] == "Gov Alerts"
    assert record["source_count"] == 3
    assert record["context"] == "C2 named in advisory AA26-001A"


def test_industry_filter_and_aliases(feed):
    energy = all_rows(feed, industry="energy")
    assert energy and all("energy" in r["industries"] for r in energy)
    assert len(energy) == 10
    finance = all_rows(feed, industry="finance")
    assert {r["id"] for r in finance} == {r["id"] for r in all_rows(feed, industry="financial-services")}
    assert len(finance) == 10
    assert len(all_rows(feed, industry="healthcare-and-public-health")) == 6
    assert len(all_rows(feed, industry="energy,water")) == len(
        {r["id"] for r in energy + all_rows(feed, industry="water")}
    )


def test_combined_filters(feed):
    rows = all_rows(feed, type="ipv4", category="government", industry="healthcare", confidence="high")
    assert {r["value"] for r in rows} == set(SHARED_IPS[:3])


def test_since_is_strictly_after(feed):
    rows = all_rows(feed, sort="updated_at")
    pivot = rows[len(rows) // 2]["updated_at"]
    after = all_rows(feed, since=pivot)
    assert after and all(parse_instant(r["updated_at"]) > parse_instant(pivot) for r in after)
    expected = [r["id"] for r in rows if parse_instant(r["updated_at"]) > parse_instant(pivot)]
    assert [r["id"] for r in after] == expected  # default sort with since: updated_at ascending
    body = feed.get("/api/v1/iocs", since=pivot).json()
    assert body["meta"]["filters"]["sort"] == "updated_at"


def test_since_accepts_offsets_and_naive_times(feed):
    assert feed.get("/api/v1/iocs", since="2000-01-01T00:00:00+02:00").status_code == 200
    assert feed.get("/api/v1/iocs", since="2000-01-01T00:00:00").status_code == 200
    assert feed.get("/api/v1/iocs", since="2000-01-01").status_code == 200


def test_since_is_clamped_to_the_tier_lookback(feed):
    for key, days in ((feed.free_key, 1), (feed.pro_key, 365)):
        body = feed.get("/api/v1/iocs", key=key, since="2000-01-01T00:00:00Z").json()
        effective = datetime.fromisoformat(body["meta"]["filters"]["since"].replace("Z", "+00:00"))
        assert abs(effective - (datetime.now(UTC) - timedelta(days=days))) < timedelta(minutes=5)
    recent = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = feed.get("/api/v1/iocs", key=feed.free_key, since=recent).json()
    assert body["meta"]["filters"]["since"] == recent  # within the lookback: unchanged


@pytest.mark.parametrize(
    "sort", ["updated_at", "-updated_at", "first_seen", "-first_seen", "last_seen", "-last_seen"]
)
def test_sort_orders_are_total(feed, sort):
    rows = all_rows(feed, sort=sort, status="all", limit=9)
    column = sort.lstrip("-")
    keys = [(parse_instant(r[column]), r["id"]) for r in rows]
    assert len(rows) == ALL_STATUSES_TOTAL and len({r["id"] for r in rows}) == len(rows)
    values = [k[0] for k in keys]
    assert values == sorted(values, reverse=sort.startswith("-"))


def test_limit_default_clamp_and_meta(feed):
    assert feed.get("/api/v1/iocs").json()["meta"]["limit"] == 100
    body = feed.get("/api/v1/iocs", key=feed.free_key, limit=5000).json()
    assert body["meta"]["limit"] == 100 and body["meta"]["limit_requested"] == 5000
    assert len(body["data"]) == ALL_STATUSES_TOTAL - 3  # fewer than the cap exist
    body = feed.get("/api/v1/iocs", limit=10**30).json()
    assert body["meta"]["limit"] == 10_000 and len(body["data"]) == ALL_STATUSES_TOTAL - 3
    assert "limit_requested" not in feed.get("/api/v1/iocs", limit=50).json()["meta"]


def test_offset_paging_covers_everything_once(feed):
    expected = [r["id"] for r in all_rows(feed, sort="first_seen")]
    seen = []
    for offset in range(0, len(expected) + 10, 10):
        body = feed.get("/api/v1/iocs", sort="first_seen", limit=10, offset=offset).json()
        assert body["meta"]["offset"] == offset
        seen.extend(r["id"] for r in body["data"])
    assert seen == expected
    body = feed.get("/api/v1/iocs", offset=100000).json()
    assert (
        body["data"] == [] and body["meta"]["total"] == len(expected) and body["meta"]["next_cursor"] is None
    )


def test_cursor_paging_covers_everything_once_and_ends_with_null(feed):
    expected = [r["id"] for r in feed.get("/api/v1/iocs", limit=1000).json()["data"]]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 7}
        if cursor:
            params["cursor"] = cursor
        body = feed.get("/api/v1/iocs", **params).json()
        pages += 1
        seen.extend(r["id"] for r in body["data"])
        assert body["meta"]["total"] == len(expected)
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            assert body["links"]["next"] is None
            break
        assert "cursor=" in body["links"]["next"]
    assert seen == expected and pages == -(-len(expected) // 7)


def test_links_next_is_a_working_url(feed):
    body = feed.get("/api/v1/iocs", type="ipv4", limit=10).json()
    nxt = body["links"]["next"]
    assert nxt.startswith("http") and "type=ipv4" in nxt
    second = feed.client.get(nxt, headers={"X-API-Key": feed.pro_key}).json()
    assert second["data"][0]["id"] not in {r["id"] for r in body["data"]}
    assert body["links"]["self"].startswith("http")


def test_links_next_replaces_cursor_and_offset_and_keeps_the_rest_as_sent(feed):
    headers = {"X-API-Key": feed.pro_key}
    first = feed.client.get("/api/v1/iocs?type=ipv4%2Cdomain&offset=0&limit=3", headers=headers).json()
    nxt = first["links"]["next"]
    assert "type=ipv4%2Cdomain" in nxt and "offset=" not in nxt and nxt.count("cursor=") == 1
    second = feed.client.get(nxt, headers=headers).json()
    third_link = second["links"]["next"]
    assert third_link.count("cursor=") == 1 and third_link != nxt
    third = feed.client.get(third_link, headers=headers).json()
    ids = [r["id"] for page in (first, second, third) for r in page["data"]]
    assert len(ids) == len(set(ids)) == 9


def test_cursor_is_bound_to_its_filters(feed):
    cursor = feed.get("/api/v1/iocs", type="ipv4", limit=5).json()["meta"]["next_cursor"]
    response = feed.get("/api/v1/iocs", type="domain", limit=5, cursor=cursor)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["parameter"] == "cursor"
    assert (
        feed.get("/api/v1/iocs", type="ipv4", limit=50, cursor=cursor).status_code == 200
    )  # limit may change


def test_tampered_cursor_is_rejected(feed):
    cursor = feed.get("/api/v1/iocs", limit=5).json()["meta"]["next_cursor"]
    body, mac = cursor.split(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    for bad in (f"{flipped}.{mac}", f"{body}.{mac[:-1]}x", "garbage", "a.b", ".", "🦠"):
        response = feed.get("/api/v1/iocs", cursor=bad)
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == "invalid_parameter"


def test_offset_with_cursor_is_rejected(feed):
    cursor = feed.get("/api/v1/iocs", limit=5).json()["meta"]["next_cursor"]
    response = feed.get("/api/v1/iocs", cursor=cursor, offset=10)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["parameter"] == "offset"


def test_ndjson_format(feed):
    response = feed.get("/api/v1/iocs", format="ndjson", type="cve")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/x-ndjson")
    lines = response.text.splitlines()
    assert len(lines) == 4 and all(json.loads(line)["type"] == "cve" for line in lines)
    assert response.headers["x-total-count"] == "4"


def test_csv_format(feed):
    response = feed.get("/api/v1/iocs", format="csv", type="ipv4", limit=10)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [
        "id",
        "type",
        "value",
        "confidence",
        "first_seen",
        "last_seen",
        "source_article",
        "source_feed",
        "category",
        "tags",
    ]
    assert len(rows) == 11 and all(row[1] == "ipv4" for row in rows[1:])
    shared = (
        next(row for row in rows[1:] if row[2] == SHARED_IPS[0])
        if any(r[2] == SHARED_IPS[0] for r in rows[1:])
        else None
    )
    if shared:
        assert shared[9] in ("botnet;c2", "c2;botnet")
    assert response.headers["x-next-cursor"] and 'rel="next"' in response.headers["link"]


def test_txt_format(feed):
    response = feed.get("/api/v1/iocs", format="txt", type="domain")
    assert response.headers["content-type"].startswith("text/plain")
    assert sorted(response.text.splitlines()) == sorted(r["value"] for r in all_rows(feed, type="domain"))


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "txt"])
def test_free_key_cannot_ask_for_pro_formats(feed, fmt):
    response = feed.get("/api/v1/iocs", key=feed.free_key, format=fmt)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "tier_required" and error["details"]["required_tier"] == "pro"


def test_unknown_parameters_are_ignored(feed):
    assert feed.get("/api/v1/iocs", colour="blue", page="2").status_code == 200


def test_one_indicator_with_all_sources(feed):
    record = next(r for r in all_rows(feed, type="ipv4") if r["value"] == SHARED_IPS[0])
    body = feed.get(f"/api/v1/iocs/{record['id']}").json()["data"]
    assert body["value"] == SHARED_IPS[0] and body["id"] == record["id"]
    assert [s["feed_name"] for s in body["sources"]] == ["Gov Alerts", "Vendor Intel", "Community List"]
    assert {s["category"] for s in body["sources"]} == {"government", "commercial", "community"}
    breakdown = body["score_breakdown"]
    assert breakdown["independent_sources"] == 3 and breakdown["score"] == body["score"]
    assert "corroborating" in breakdown["explanation"]


def test_unknown_indicator_is_404(feed):
    response = feed.get("/api/v1/iocs/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_feeds_lists_the_sources(feed):
    body = feed.get("/api/v1/feeds").json()
    by_name = {f["name"]: f for f in body["data"]}
    assert set(by_name) == {"Community List", "Vendor Intel", "Gov Alerts", "Paste Site"}
    assert by_name["Gov Alerts"]["category"] == "government"
    assert by_name["Community List"]["indicator_count"] == 50
    assert by_name["Vendor Intel"]["health"] == "healthy" and by_name["Vendor Intel"]["last_run_at"].endswith(
        "Z"
    )
