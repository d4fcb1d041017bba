"""The key endpoints: list, mint (shown once, within quota), revoke with a reason, usage analytics."""

from __future__ import annotations

from tests.conftest import make_key


def test_list_mint_revoke_and_quota(live):
    key, _key_id = make_key(live.settings, live.engine, "free")
    listing = live.get("/api/v1/keys", key=key).json()
    assert listing["meta"] == {"tier": "free", "quota": 3, "active": 1}
    assert listing["data"][0]["current"] is True and "key" not in listing["data"][0]
    minted = live.client.post(
        "/api/v1/keys", json={"name": "splunk", "expires_in_days": 30}, headers={"X-API-Key": key}
    )
    assert minted.status_code == 201
    new = minted.json()["data"]
    assert new["key"].startswith("sk_live_") and new["expires_at"] and new["name"] == "splunk"
    assert live.get("/api/v1/iocs", key=new["key"]).status_code == 200
    live.client.post("/api/v1/keys", json={"name": "third"}, headers={"X-API-Key": key})
    over = live.client.post("/api/v1/keys", json={"name": "fourth"}, headers={"X-API-Key": key})
    assert over.status_code == 403 and over.json()["error"]["code"] == "quota_exceeded"
    revoked = live.client.delete(f"/api/v1/keys/{new['id']}?reason=rotated", headers={"X-API-Key": key})
    assert revoked.status_code == 200 and revoked.json()["data"]["revoked_reason"] == "rotated"
    assert live.get("/api/v1/iocs", key=new["key"]).json()["error"]["code"] == "invalid_api_key"
    assert live.get("/api/v1/keys", key=key).json()["meta"]["active"] == 2


def test_another_accounts_key_does_not_exist_here(live):
    mine, _ = make_key(live.settings, live.engine, "pro")
    _, theirs = make_key(live.settings, live.engine, "pro")
    response = live.client.delete(f"/api/v1/keys/{theirs}", headers={"X-API-Key": mine})
    assert response.status_code == 404
    assert live.get(f"/api/v1/keys/{theirs}/usage", key=mine).status_code == 404


def test_bad_mint_requests(live):
    key, _ = make_key(live.settings, live.engine, "pro")
    headers = {"X-API-Key": key}
    for body in (
        {"name": ""},
        {"name": "x", "expires_in_days": 0},
        {"name": "x", "expires_in_days": 99999},
        {"nom": "x"},
        {"name": 5},
    ):
        response = live.client.post("/api/v1/keys", json=body, headers=headers)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "invalid_parameter"
    assert live.client.post("/api/v1/keys", content=b"not json", headers=headers).status_code == 400


def test_usage_analytics(live):
    key, key_id = make_key(live.settings, live.engine, "free")
    for _ in range(4):
        live.get("/api/v1/iocs", key=key)
    live.get("/api/v1/iocs", key=key, limit="bad")
    body = live.get(f"/api/v1/keys/{key_id}/usage", key=key, days="7").json()["data"]
    assert body["days"] == 7 and len(body["daily"]) == 7
    assert (
        body["totals"]["requests"] == 5 and body["totals"]["ok"] == 4 and body["totals"]["client_errors"] == 1
    )
    assert body["daily"][-1]["requests"] == 5
    assert body["latency_ms"]["p50"] is not None and sum(body["latency_ms"]["buckets"].values()) == 5
    assert live.get(f"/api/v1/keys/{key_id}/usage", key=key, days="0").status_code == 400
