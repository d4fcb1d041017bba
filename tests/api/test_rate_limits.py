"""Per-key limits per minute and per day, in process and shared through the real Redis."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient

from iocfeed.api.app import create_app
from iocfeed.config import Settings
from tests.conftest import make_key


def hit(client, key, n):
    return [client.get("/api/v1/iocs", headers={"X-API-Key": key}, params={"limit": 1}) for _ in range(n)]


def test_free_tier_per_minute_limit_with_headers(live):
    responses = hit(live.client, live.free_key, 11)
    assert [r.status_code for r in responses] == [200] * 10 + [429]
    remaining = [int(r.headers["x-ratelimit-remaining"]) for r in responses[:10]]
    assert remaining == list(range(9, -1, -1))
    assert all(r.headers["x-ratelimit-limit"] == "10" for r in responses)
    reset = int(responses[0].headers["x-ratelimit-reset"])
    assert time.time() < reset <= time.time() + 61
    limited = responses[-1]
    error = limited.json()["error"]
    assert error["code"] == "rate_limit_exceeded" and error["details"]["window"] == "minute"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.headers["x-ratelimit-remaining"] == "0"
    # Another key has its own budget.
    assert live.get("/api/v1/iocs").status_code == 200


def test_per_day_limit_from_the_tiers_file(database, tmp_path):
    tiers = tmp_path / "tiers.toml"
    tiers.write_text("[free]\nrequests_per_minute = 100\nrequests_per_day = 3\n")
    settings = Settings(home=tmp_path / "home", database_url=database.url, tiers=tiers)
    engine = database.engine()
    key, _ = make_key(settings, engine, "free")
    with TestClient(app=create_app(settings)) as client:
        responses = hit(client, key, 4)
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[-1].json()["error"]["details"]["window"] == "day"
    assert int(responses[-1].headers["retry-after"]) >= 1
    engine.dispose()


def test_internal_tier_has_no_limits(live):
    key, _ = make_key(live.settings, live.engine, "internal")
    responses = hit(live.client, key, 15)
    assert {r.status_code for r in responses} == {200}
    assert "x-ratelimit-limit" not in responses[0].headers


@pytest.mark.redis
def test_two_apps_share_one_redis_budget(database, tmp_path, redis_url):
    prefix = f"iocfeed-test-{secrets.token_hex(4)}"
    settings = Settings(
        home=tmp_path / "home", database_url=database.url, redis_url=redis_url, redis_prefix=prefix
    )
    engine = database.engine()
    key, _ = make_key(settings, engine, "free")
    with TestClient(app=create_app(settings)) as first, TestClient(app=create_app(settings)) as second:
        codes = [
            r.status_code for pair in zip(hit(first, key, 6), hit(second, key, 6), strict=True) for r in pair
        ]
    assert codes.count(200) == 10 and codes.count(429) == 2
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.redis
def test_two_worker_processes_share_one_redis_budget(tmp_path, redis_url):
    """`iocfeed serve --workers 2` with IOCFEED_REDIS_URL: a free key gets 10 requests, not 10 per worker."""
    home = tmp_path / "home"
    database_url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    settings = Settings(home=home, database_url=database_url)
    from iocfeed.store.engine import make_engine
    from iocfeed.store.migrate import upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    key, _ = make_key(settings, engine, "free")
    engine.dispose()
    port = _free_port()
    env = {
        **os.environ,
        "IOCFEED_HOME": str(home),
        "IOCFEED_DATABASE_URL": database_url,
        "IOCFEED_REDIS_URL": redis_url,
        "IOCFEED_REDIS_PREFIX": f"iocfeed-test-{secrets.token_hex(4)}",
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "iocfeed"), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base, server)
        codes = []
        for _ in range(30):  # a new connection each time, so the kernel spreads them over both workers
            codes.append(httpx.get(f"{base}/api/v1/iocs?limit=1", headers={"X-API-Key": key}).status_code)
        assert codes.count(200) == 10, codes
        assert codes.count(429) == 20
    finally:
        server.terminate()
        server.wait(timeout=20)


def _wait_for(base: str, server: subprocess.Popen) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"server exited: {server.stdout.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("server did not start")
