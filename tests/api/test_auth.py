"""Authentication exactly as specified: both headers, the three 401 codes, the seed's message."""

from __future__ import annotations

import base64

import pytest

from iocfeed.api.auth import MISSING_KEY_MESSAGE
from iocfeed.store.accounts import revoke_key
from tests.conftest import make_key

SEED_MESSAGE = (
    'API key is required. Include it in the Authorization header as "Bearer sk_live_..." '
    "or in the X-API-Key header."
)


def error_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["request_id"] == response.headers["x-request-id"]
    assert error["request_id"].startswith("req_")
    return error


def test_missing_key_uses_the_seed_message(feed):
    error = error_of(feed.client.get("/api/v1/iocs"), 401, "missing_api_key")
    assert error["message"] == SEED_MESSAGE == MISSING_KEY_MESSAGE


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer"},
        {"X-API-Key": ""},
        {"X-API-Key": "   "},
    ],
)
def test_empty_keys_count_as_missing(feed, headers):
    error_of(feed.client.get("/api/v1/iocs", headers=headers), 401, "missing_api_key")


def test_both_headers_are_equivalent(feed):
    assert (
        feed.client.get("/api/v1/iocs", headers={"Authorization": f"Bearer {feed.pro_key}"}).status_code
        == 200
    )
    assert feed.client.get("/api/v1/iocs", headers={"X-API-Key": feed.pro_key}).status_code == 200
    assert (
        feed.client.get("/api/v1/iocs", headers={"authorization": f"bearer {feed.pro_key}"}).status_code
        == 200
    )


def test_when_both_headers_are_sent_authorization_wins(feed):
    good_auth = {"Authorization": f"Bearer {feed.pro_key}", "X-API-Key": "sk_live_" + "x" * 40}
    assert feed.client.get("/api/v1/iocs", headers=good_auth).status_code == 200
    bad_auth = {"Authorization": "Bearer sk_live_" + "x" * 40, "X-API-Key": feed.pro_key}
    error_of(feed.client.get("/api/v1/iocs", headers=bad_auth), 401, "invalid_api_key")


def test_surrounding_whitespace_is_trimmed(feed):
    for value in (f"  {feed.pro_key}  ", f"\t{feed.pro_key}"):
        assert feed.client.get("/api/v1/iocs", headers={"X-API-Key": value}).status_code == 200
    assert (
        feed.client.get("/api/v1/iocs", headers={"Authorization": f"Bearer   {feed.pro_key} "}).status_code
        == 200
    )


@pytest.mark.parametrize(
    "key",
    [
        "sk_live_" + "A" * 43,  # well-formed, unknown
        "sk_test_" + "A" * 43,  # wrong prefix
        "sk_live_short",
        "not-a-key",
        "sk_live_" + "A" * 20 + " " + "B" * 20,  # whitespace inside
        "sk_live_" + "A" * 43 + "'; DROP TABLE api_keys; --",
    ],
)
def test_invalid_keys(feed, key):
    error = error_of(feed.client.get("/api/v1/iocs", headers={"X-API-Key": key}), 401, "invalid_api_key")
    assert key not in error["message"]  # a key, even a wrong one, is never echoed


def test_a_key_with_one_character_changed_is_invalid(feed):
    key = feed.pro_key[:-1] + ("A" if feed.pro_key[-1] != "A" else "B")
    error_of(feed.client.get("/api/v1/iocs", headers={"X-API-Key": key}), 401, "invalid_api_key")


def test_other_schemes_are_invalid(feed):
    error_of(
        feed.client.get("/api/v1/iocs", headers={"Authorization": f"Token {feed.pro_key}"}),
        401,
        "invalid_api_key",
    )


def test_basic_auth_with_the_key_as_password(feed):
    for user in ("", "apikey"):
        token = base64.b64encode(f"{user}:{feed.pro_key}".encode()).decode()
        assert feed.client.get("/api/v1/iocs", headers={"Authorization": f"Basic {token}"}).status_code == 200
    error_of(feed.client.get("/api/v1/iocs", headers={"Authorization": "Basic !!!"}), 401, "invalid_api_key")


def test_revoked_key_stops_on_the_next_request(live):
    key, key_id = make_key(live.settings, live.engine, "pro")
    assert live.get("/api/v1/iocs", key=key).status_code == 200
    revoke_key(live.engine, key_id, "leaked")
    error = error_of(live.get("/api/v1/iocs", key=key), 401, "invalid_api_key")
    assert "revoked" in error["message"]


def test_expired_key(live):
    key, key_id = make_key(live.settings, live.engine, "pro", expires_in_days=1)
    assert live.get("/api/v1/iocs", key=key).status_code == 200
    from sqlalchemy import text

    with live.engine.begin() as connection:
        connection.execute(text("UPDATE api_keys SET expires_at = 1 WHERE id = :id"), {"id": key_id})
    error = error_of(live.get("/api/v1/iocs", key=key), 401, "expired_api_key")
    assert "expired" in error["message"]


def test_probes_and_docs_need_no_key(feed):
    assert feed.client.get("/healthz").json() == {"status": "ok"}
    assert feed.client.get("/readyz").status_code == 200
    assert feed.client.get("/openapi.json").json()["openapi"].startswith("3.")
    assert "/api/v1/iocs" in feed.client.get("/docs").text


@pytest.mark.parametrize("path", ["/api/v1/iocs", "/api/v1/feeds", "/api/v1/iocs/some-id"])
def test_every_api_endpoint_needs_a_key(feed, path):
    error_of(feed.client.get(path), 401, "missing_api_key")


def test_a_revocation_made_elsewhere_takes_effect_within_the_key_cache_bound(database, tmp_path):
    import time

    from litestar.testing import TestClient

    from iocfeed.api.app import create_app
    from iocfeed.config import Settings

    settings = Settings(home=tmp_path / "home", database_url=database.url, key_cache_seconds=0.5)
    engine = database.engine()
    key, key_id = make_key(settings, engine, "pro")
    with TestClient(app=create_app(settings)) as client:
        headers = {"X-API-Key": key}
        assert client.get("/api/v1/iocs", headers=headers).status_code == 200
        revoke_key(engine, key_id, "leaked")  # as `iocfeed keys revoke` in another process would
        assert client.get("/api/v1/iocs", headers=headers).status_code == 200  # still cached
        time.sleep(0.6)
        error_of(client.get("/api/v1/iocs", headers=headers), 401, "invalid_api_key")
    engine.dispose()
