"""iocfeed.client and iocfeed.pull against a real `iocfeed serve` on a loopback port.

Each test gets its own SQLite database and server process (about 1.5 s to start): the assertions are
about exact sets, which a shared feed would blur. Data goes in through the real pipeline into the
same database while the server runs; status and band changes go through the writer clock, as the
lifecycle jobs make them.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select, update

from iocfeed.client import ClientError, FeedClient, RetryPolicy, SyncState
from iocfeed.config import Settings
from iocfeed.pull import EXIT_OK, EXIT_STALE, EXIT_USAGE, main_pull, pull
from iocfeed.sources.records import RawRecord
from iocfeed.store.schema import indicators
from iocfeed.store.writer import write_batch
from tests.api.test_rate_limits import _free_port, _wait_for
from tests.conftest import ingest_values, make_key, new_database

TIERS = """
[tiny]                  # a free-like tier that runs out after two requests a minute
requests_per_minute = 2
[shortlookback]         # `since` is always clamped to now: every delta comes back cut short
lookback_days = 0
requests_per_minute = 0
"""


@dataclass
class LiveFeed:
    url: str
    engine: Engine
    settings: Settings

    def key(self, tier: str = "pro") -> str:
        return make_key(self.settings, self.engine, tier)[0]

    def ingest(self, values: list[str], source: str = "Community List", category: str = "community") -> None:
        records = [RawRecord(f"line {i}", v) for i, v in enumerate(values, start=1)]
        ingest_values(self.engine, self.settings, source, category, records)

    def set_columns(self, value: str, **columns: str) -> None:
        """Change an indicator the way the lifecycle jobs do: through the writer, moving updated_at."""
        with write_batch(self.engine) as batch:
            changed = batch.connection.execute(
                update(indicators)
                .where(indicators.c.value == value)
                .values(**columns, updated_at=batch.clock)
            ).rowcount
        assert changed == 1, value

    def server_ids(self, **where: str) -> set[str]:
        query = select(indicators.c.id)
        for column, value in where.items():
            query = query.where(indicators.c[column] == value)
        with self.engine.connect() as connection:
            return set(connection.execute(query).scalars())


@pytest.fixture
def feed(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LiveFeed]:
    database = new_database("sqlite", tmp_path, request)
    (tmp_path / "tiers.toml").write_text(TIERS)
    settings = Settings(home=tmp_path / "home", database_url=database.url, tiers=tmp_path / "tiers.toml")
    engine = database.engine()
    settings.ensure_home()
    port = _free_port()
    env = {
        **os.environ,
        "IOCFEED_HOME": str(settings.home),
        "IOCFEED_DATABASE_URL": database.url,
        "IOCFEED_TIERS": str(tmp_path / "tiers.toml"),
    }
    env.pop("IOCFEED_REDIS_URL", None)
    make_key(settings, engine)  # creates the server secret before the server reads it
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "iocfeed"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base, server)
        yield LiveFeed(base, engine, settings)
    finally:
        server.terminate()
        server.wait(timeout=20)
        engine.dispose()


IPS = [f"45.{i}.20.{i + 1}" for i in range(40)]
DOMAINS = [f"c2-{i}.example-bad.com" for i in range(15)]


def test_paging_to_the_end_gets_every_indicator_once(feed):
    feed.ingest(IPS + DOMAINS)
    with FeedClient(feed.url, feed.key(), timeout=10, page_size=7) as client:
        everything = [r["id"] for r in client.iter_indicators(status="all", sort="updated_at")]
        ips = [r["value"] for r in client.iter_indicators(type="ipv4")]
    assert len(everything) == len(set(everything)) == 55
    assert set(everything) == feed.server_ids()
    assert sorted(ips) == sorted(IPS)


def test_delta_sync_gets_only_what_changed(feed):
    feed.ingest(IPS)
    state = SyncState()
    with FeedClient(feed.url, feed.key(), timeout=10, page_size=9) as client:
        first = client.sync(state, type="ipv4")
        assert first.full_resync and len(first.upserted) == 40 and not first.removed
        quiet = client.sync(state, type="ipv4")
        assert not quiet.full_resync and quiet.upserted == [] and quiet.removed == []

        fresh = [f"46.0.0.{i}" for i in range(1, 6)]
        feed.ingest(fresh + IPS[:3], source="Vendor Intel", category="commercial")  # 5 new, 3 updated
        feed.ingest(["new-only-a-domain.example-bad.org"])  # outside the filter
        feed.set_columns(IPS[10], status="revoked")
        delta = client.sync(state, type="ipv4")
    assert not delta.full_resync
    assert sorted(r["value"] for r in delta.upserted) == sorted(fresh + IPS[:3])
    assert all(r["source_count"] == 2 for r in delta.upserted if r["value"] in IPS[:3])
    assert [(r["value"], r["status"]) for r in delta.removed] == [(IPS[10], "revoked")]
    assert state.sync_since == delta.sync_since
    assert datetime.fromisoformat(delta.sync_since) > datetime.fromisoformat(first.sync_since)


def test_pull_applies_additions_and_removals(feed, tmp_path):
    feed.ingest(IPS[:10] + DOMAINS[:3])
    key, state_path = feed.key(), tmp_path / "pull-state.json"

    def run(fmt: str = "txt", **filters: str):
        out = io.StringIO()
        return pull(feed.url, key, state_path, fmt, out, timeout=10, **filters), out.getvalue()

    summary, text = run(type="ipv4")
    assert (summary.added, summary.removed, summary.total, summary.full_resync) == (10, 0, 10, True)
    assert text.splitlines() == sorted(IPS[:10])

    feed.set_columns(IPS[2], status="revoked")
    feed.set_columns(IPS[5], status="expired")
    feed.set_columns(IPS[7], status="false-positive")
    feed.ingest(["46.1.1.1"])
    summary, text = run(type="ipv4")
    assert (summary.added, summary.removed, summary.total, summary.full_resync) == (1, 3, 8, False)
    assert text.splitlines() == sorted({*IPS[:10], "46.1.1.1"} - {IPS[2], IPS[5], IPS[7]})
    assert run(type="ipv4")[1] == text  # nothing changed: byte-identical output
    saved = json.loads(state_path.read_text())
    assert {e["value"] for e in saved["blocklist"]} == set(text.splitlines())

    # A band that falls below the filter leaves the list, although the server-side row is still active.
    state_path.unlink()
    band = run(min_confidence="low")[0]
    assert band.total == 11
    feed.set_columns(DOMAINS[0], confidence="low", score="10")
    summary, _ = run(min_confidence="low")
    assert summary.removed == 0  # low still qualifies
    summary, csv_text = run("csv", min_confidence="medium")  # other filters: a fresh full listing
    assert summary.full_resync and DOMAINS[0] not in csv_text and summary.total == 10
    assert csv_text.splitlines()[0] == (
        "id,type,value,confidence,first_seen,last_seen,source_article,source_feed,category,tags"
    )
    feed.set_columns(DOMAINS[1], confidence="low", score="10")
    summary, json_text = run("json", min_confidence="medium")
    assert (summary.removed, summary.full_resync) == (1, False)
    assert DOMAINS[1] not in {e["value"] for e in json.loads(json_text)["data"]}


def test_a_delta_cut_short_by_the_lookback_becomes_a_full_listing(feed, tmp_path):
    feed.ingest(IPS[:6])
    state = SyncState(blocklist={})
    with FeedClient(feed.url, feed.key("shortlookback"), timeout=10) as client:
        assert client.sync(state).full_resync
        feed.set_columns(IPS[0], status="revoked")
        again = client.sync(state)
    assert again.full_resync
    assert [r["value"] for r in again.removed] == [IPS[0]]
    assert {e.value for e in state.blocklist.values()} == set(IPS[1:6])


def test_rate_limit_beyond_the_patience_is_a_clear_error(feed):
    key = feed.key("tiny")
    waits: list[float] = []
    policy = RetryPolicy(attempts=3, max_retry_after_seconds=0.01)
    with FeedClient(feed.url, key, timeout=10, retry=policy, sleep=waits.append) as client:
        list(client.iter_indicators())
        list(client.iter_indicators())
        with pytest.raises(ClientError) as caught:
            list(client.iter_indicators())
    error = caught.value
    assert (error.status, error.code) == (429, "rate_limit_exceeded")
    assert "Retry-After" in str(error) and error.request_id.startswith("req_")
    assert waits == []  # a minute-long Retry-After is beyond this policy's patience: no sleeping


def test_retries_honour_retry_after_and_back_off_on_5xx():
    seen: list[httpx.Request] = []
    answers = [
        httpx.Response(429, headers={"Retry-After": "3"}, json={"error": {"code": "rate_limit_exceeded"}}),
        httpx.Response(503, json={"error": {"code": "unavailable", "message": "db down"}}),
        httpx.Response(200, json={"meta": {"next_cursor": "c2", "sync_since": "x"}, "data": [{"id": "a"}]}),
        httpx.Response(502, text="bad gateway"),
        httpx.Response(200, json={"meta": {"next_cursor": None, "sync_since": "y"}, "data": [{"id": "b"}]}),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[len(seen) - 1]

    waits: list[float] = []
    key = "sk_live_" + "k" * 40
    policy = RetryPolicy(backoff_seconds=1.0)
    with FeedClient(
        "http://feed.test",
        key,
        timeout=5,
        transport=httpx.MockTransport(handler),
        retry=policy,
        sleep=waits.append,
    ) as client:
        assert [r["id"] for r in client.iter_indicators(type="ipv4")] == ["a", "b"]
    # Retry-After as given; then backoff doubling per attempt of one request (with jitter down to half).
    assert waits[0] == 3.0 and 1.0 <= waits[1] <= 2.0 and 0.5 <= waits[2] <= 1.0
    assert seen[-1].url.params["cursor"] == "c2" and seen[-1].url.params["type"] == "ipv4"
    assert all(r.headers["X-API-Key"] == key and key not in str(r.url) for r in seen)


def test_a_bad_key_is_a_clear_error_that_never_shows_the_key(feed, tmp_path):
    bad_key = "sk_live_" + "Z" * 43
    with FeedClient(feed.url, bad_key, timeout=10) as client, pytest.raises(ClientError) as caught:
        next(client.iter_indicators())
    error = caught.value
    assert (error.status, error.code) == (401, "invalid_api_key") and error.request_id.startswith("req_")
    for text in (str(error), repr(error), repr(client), *map(str, error.args)):
        assert bad_key not in text and "Z" * 20 not in text

    # The CLI's entry point: key only from the environment; on failure the last known list is kept.
    state_path = tmp_path / "cron.json"
    feed.ingest(IPS[:3])
    good = {"FEED_KEY": feed.key()}
    out, err = io.StringIO(), io.StringIO()
    assert (
        main_pull(server=feed.url, key_env="FEED_KEY", state=state_path, out=out, err=err, environ=good)
        == EXIT_OK
    )
    assert out.getvalue().splitlines() == sorted(IPS[:3]) and "3 added" in err.getvalue()
    out, err = io.StringIO(), io.StringIO()
    status = main_pull(
        server=feed.url, key_env="FEED_KEY", state=state_path, out=out, err=err, environ={"FEED_KEY": bad_key}
    )
    assert status == EXIT_STALE and out.getvalue().splitlines() == sorted(IPS[:3])
    assert "invalid_api_key" in err.getvalue() and bad_key not in err.getvalue()
    err = io.StringIO()
    assert (
        main_pull(server=feed.url, key_env="UNSET_VAR", state=state_path, err=err, environ={}) == EXIT_USAGE
    )
    assert "UNSET_VAR" in err.getvalue()


def test_state_file_is_private_and_survives_a_crash_mid_write(tmp_path, monkeypatch):
    path = tmp_path / "state.json"
    state = SyncState(sync_since="2026-01-01T00:00:00Z", blocklist={})
    state.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    original = path.read_bytes()

    # A real crash: the process dies between writing the temporary file and renaming it.
    crash = (
        "import os; from iocfeed.client import SyncState\n"
        "os.replace = lambda *a: os._exit(9)\n"
        f"SyncState(sync_since='2027-01-01T00:00:00Z', blocklist={{}}).save({str(path)!r})\n"
    )
    assert subprocess.run([sys.executable, "-c", crash], check=False).returncode == 9
    assert path.read_bytes() == original
    assert SyncState.load(path).sync_since == "2026-01-01T00:00:00Z"

    # A failure while writing: the old file stays, the temporary file is cleaned up.
    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError):
        SyncState(sync_since="2028-01-01T00:00:00Z").save(path)
    monkeypatch.undo()
    assert path.read_bytes() == original
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1  # only the crashed process's, which nothing reads

    SyncState(sync_since="2029-01-01T00:00:00Z", blocklist={}).save(path)
    assert SyncState.load(path).sync_since == "2029-01-01T00:00:00Z"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
