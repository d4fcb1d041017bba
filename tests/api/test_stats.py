"""GET /api/v1/iocs/stats: counts, trends, feed health; cached with X-Cache-* headers."""

from __future__ import annotations


def test_stats_counts_and_cache_headers(feed):
    first = feed.get("/api/v1/iocs/stats")
    assert first.status_code == 200
    data = first.json()["data"]
    assert data["total"] == sum(data["by_status"].values())
    assert data["by_type"]["ipv4"] == 30 and data["by_type"]["cve"] == 4
    assert data["by_category"]["government"] == 10
    assert data["by_industry"]["energy"] == 10
    assert data["new_24h"] == data["total"] and len(data["new_per_day"]) == 7
    assert {f["name"] for f in data["feeds"]} >= {"Gov Alerts", "Community List"}
    assert first.headers["x-cache-status"] in ("miss", "hit")
    second = feed.get("/api/v1/iocs/stats")
    assert second.headers["x-cache-status"] == "hit" and second.headers["x-cache-generated-at"].endswith("Z")


def test_stats_need_the_pro_tier(feed):
    response = feed.get("/api/v1/iocs/stats", key=feed.free_key)
    assert response.status_code == 403 and response.json()["error"]["code"] == "tier_required"


def test_stale_stats_are_served_while_refreshed(live):
    live.client.app.state.services.stats.ttl = 0.0
    first = live.get("/api/v1/iocs/stats")
    assert first.headers["x-cache-status"] == "miss"
    assert live.get("/api/v1/iocs/stats").headers["x-cache-status"] == "stale"
