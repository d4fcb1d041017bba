"""Bad input gets a 400 in the documented envelope, never a 500; every response has a request id."""

from __future__ import annotations

import pytest

SQLISH = "1' OR '1'='1'; DROP TABLE indicators; --"


def assert_invalid(response, parameter: str):
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter"
    assert error["details"]["parameter"] == parameter
    assert error["request_id"] == response.headers["x-request-id"]
    assert error["message"]
    return error


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("type", "ip"),
        ("type", "ipv4,bogus"),
        ("confidence", "certain"),
        ("min_confidence", "huge"),
        ("category", "military"),
        ("industry", "space"),
        ("status", "deleted"),
        ("sort", "value"),
        ("sort", "+updated_at"),
        ("format", "xml"),
    ],
)
def test_unknown_enum_values(feed, parameter, value):
    error = assert_invalid(feed.get("/api/v1/iocs", **{parameter: value}), parameter)
    assert error["details"]["allowed"]


@pytest.mark.parametrize(
    "value", ["yesterday", "2024-13-01", "2024-01-01T25:00:00Z", "0", "", "   ", "2024-01-01T00:00:00+99:00"]
)
def test_malformed_since(feed, value):
    response = feed.get("/api/v1/iocs", since=value)
    if not value.strip():
        assert response.status_code == 200  # an empty since is no since
        return
    assert_invalid(response, "since")


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "1e3", "", "0x10", "٣"])
def test_bad_limit(feed, value):
    response = feed.get("/api/v1/iocs", limit=value)
    if value == "":
        assert response.status_code == 200
        return
    assert_invalid(response, "limit")


@pytest.mark.parametrize("value", ["-1", "abc", "99999999999"])
def test_bad_offset(feed, value):
    assert_invalid(feed.get("/api/v1/iocs", offset=value), "offset")


@pytest.mark.parametrize(
    "parameter",
    [
        "type",
        "confidence",
        "min_confidence",
        "category",
        "industry",
        "since",
        "status",
        "sort",
        "limit",
        "offset",
        "cursor",
        "format",
    ],
)
def test_sql_looking_text_in_every_parameter(feed, parameter):
    response = feed.get("/api/v1/iocs", **{parameter: SQLISH})
    assert_invalid(response, parameter)
    assert feed.get("/api/v1/iocs", limit=1).json()["meta"]["total"] > 0  # nothing was dropped


def test_sql_looking_text_in_an_unknown_parameter_is_ignored(feed):
    assert feed.get("/api/v1/iocs", q=SQLISH).status_code == 200
    response = feed.get(f"/api/v1/iocs/{SQLISH}")
    assert response.status_code == 404


def test_a_10kb_query_string(feed):
    big = "x" * 10_240
    assert feed.get("/api/v1/iocs", anything=big).status_code == 200
    error = assert_invalid(feed.get("/api/v1/iocs", type=big), "type")
    assert len(error["message"]) < 300  # the offending value is not echoed whole
    assert_invalid(feed.get("/api/v1/iocs", cursor=big), "cursor")
    assert_invalid(feed.get("/api/v1/iocs", limit="9" * 10_240), "limit")


def test_unknown_path_and_wrong_method(feed):
    response = feed.client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.json()["error"]["request_id"] == response.headers["x-request-id"]
    response = feed.client.post("/api/v1/iocs", headers={"X-API-Key": feed.pro_key})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_every_response_has_a_request_id(feed):
    for response in (
        feed.client.get("/healthz"),
        feed.get("/api/v1/iocs"),
        feed.client.get("/api/v1/iocs"),
        feed.client.get("/nope"),
        feed.get("/api/v1/iocs", limit="x"),
    ):
        assert response.headers["x-request-id"].startswith("req_")
    ids = {feed.client.get("/healthz").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


def test_a_bug_is_a_bare_500_without_a_stack_trace(live, monkeypatch):
    from iocfeed.store.feed_reads import FeedReader

    def explode(*_args, **_kwargs):
        raise ZeroDivisionError("secret internals at /srv/iocfeed/store.py line 12")

    monkeypatch.setattr(FeedReader, "read_page", explode)
    response = live.get("/api/v1/iocs")
    assert response.status_code == 500
    body = response.json()
    assert body == {
        "error": {
            "code": "internal_error",
            "message": "Internal error.",
            "request_id": response.headers["x-request-id"],
        }
    }
    assert "Traceback" not in response.text and "secret internals" not in response.text


def test_database_down_is_503(tmp_path):
    """A PostgreSQL server that is gone: readyz and the feed say 503 unavailable."""
    from litestar.testing import TestClient
    from sqlalchemy import text

    from iocfeed.api.app import create_app
    from iocfeed.config import Settings
    from iocfeed.store.engine import make_engine
    from iocfeed.store.migrate import upgrade
    from tests.conftest import make_key

    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    key, _ = make_key(settings, engine)
    app = create_app(settings)
    with TestClient(app=app) as client:
        app.state.services.read_engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
        response = client.get("/readyz")
        assert response.status_code == 503 and response.json()["error"]["code"] == "unavailable"
        response = client.get("/api/v1/iocs", headers={"X-API-Key": key})
        assert response.status_code == 503 and response.json()["error"]["code"] == "unavailable"
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def test_a_serving_app_collects_garbage_in_page_sized_steps(live):
    """Started, the app freezes what it holds and lets a large page's objects live until the page
    is done (full collections walked the heap mid-page: 65 ms pauses on 10,000-row pages)."""
    import gc

    from iocfeed.api.app import GC_YOUNG_THRESHOLD

    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
    assert gc.get_freeze_count() > 0
