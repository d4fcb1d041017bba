"""`iocfeed ingest` against a real HTTP server on a loopback port: every format, and every way a
feed goes wrong."""

from __future__ import annotations

import gzip
import json
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

from iocfeed.ingest import Ingestor
from iocfeed.sources.catalog import load_catalog
from iocfeed.sources.fetch import FetchPolicy
from iocfeed.sources.readers.taxii import ObjectsQuery, objects_url
from iocfeed.store.schema import articles, indicators, ingest_runs, sightings, sources
from tests.fixtures.http_server import FeedServer

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
NO_WAIT = FetchPolicy(
    read_timeout=0.3, connect_timeout=1.0, backoff_base=0.01, backoff_cap=0.05, sleep=lambda _seconds: None
)

ADVISORY_PAGE = """<!doctype html><html><head><title>AA26-330A</title></head><body>
<nav><a href="/news">News</a> <a href="https://www.facebook.com/CISA">Facebook</a></nav>
<main><article>
<h1>#StopRansomware: GlassTide Targets Water and Wastewater Utilities</h1>
<p>The authoring agencies observed GlassTide actors targeting the water and wastewater sector and
energy utilities. Initial access used spearphishing attachments (T1566.001) and PowerShell (T1059.001).</p>
<table><tr><td>C2</td><td>194.26.135[.]89</td></tr>
<tr><td>Payload</td><td>hxxps://glasstide-update[.]net/agent.bin</td></tr>
<tr><td>SHA-256</td><td>3f9a1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8</td></tr></table>
</article></main></body></html>"""


def rss(base: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Advisories</title><link>{base}/</link><description/>
<item><title>GlassTide Targets Water Utilities</title><link>{base}/advisories/aa26-330a</link>
<description>&lt;p&gt;Joint advisory.&lt;/p&gt;</description><pubDate>Mon, 23 Nov 2026 12:00:00 GMT</pubDate></item>
</channel></rss>""".encode()


CATALOG = """
[[source]]
name = "URLhaus"
category = "community"
url = "{base}/urlhaus_csv_recent.csv"
format = "csv"
type = "url"
[source.reader]
fieldnames = ["id", "dateadded", "url", "url_status", "last_online", "threat", "tags", "urlhaus_link", "reporter"]
columns = {{ value = "url", first_seen = "dateadded", tags = "tags", context = "threat", reference_url = "urlhaus_link" }}

[[source]]
name = "Feodo Tracker"
category = "community"
url = "{base}/feodotracker_ipblocklist.txt"
format = "txt"
type = "ipv4"

[[source]]
name = "CISA KEV"
category = "government"
url = "{base}/cisa_kev.json"
format = "json"
type = "cve"
[source.reader]
records = "vulnerabilities"
columns = {{ value = "cveID", first_seen = "dateAdded", context = "vulnerabilityName" }}

[[source]]
name = "ThreatFox"
category = "community"
url = "{base}/threatfox_recent.json"
format = "json"
[source.reader]
records = "*"
columns = {{ value = "ioc_value", type = "ioc_type", first_seen = "first_seen_utc", tags = "tags", context = "malware_printable" }}
[source.mapping]
strip_port = true
type_map = {{ "ip:port" = "ipv4", "sha256_hash" = "sha256" }}

[[source]]
name = "STIX partner"
category = "commercial"
url = "{base}/stix21_bundle.json"
format = "stix"

[[source]]
name = "CIRCL OSINT"
category = "government"
url = "{base}/misp/"
format = "misp-feed"

[[source]]
name = "TAXII partner"
category = "commercial"
url = "{base}/taxii/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/"
format = "taxii"

[[source]]
name = "AlienVault OTX"
category = "community"
url = "{base}/otx/pulses/subscribed"
format = "otx"
auth_header = "X-OTX-API-KEY"
auth_env = "TEST_OTX_KEY"
auth_required = true

[[source]]
name = "CISA Alerts"
category = "government"
origin = "article"
url = "{base}/advisories.xml"
format = "rss"
[source.reader]
fetch_pages = true
"""


@pytest.fixture
def server():
    with FeedServer(FEEDS) as feed_server:
        base = feed_server.url("").rstrip("/")
        feed_server.route("/advisories.xml", body=rss(base), content_type="application/rss+xml")
        feed_server.route("/advisories/aa26-330a", body=ADVISORY_PAGE.encode(), content_type="text/html")
        # Two pages: the first says more and hands out a `next` token, the second ends the collection.
        collection = "/taxii/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/"
        first = json.loads((FEEDS / "taxii21_envelope.json").read_text())
        second = {
            "more": False,
            "objects": [
                {
                    "type": "indicator",
                    "spec_version": "2.1",
                    "id": "indicator--7d3c0b51-2c7f-4c8e-9a55-0d6d6c1f2e11",
                    "created": "2026-11-20T11:00:00.000Z",
                    "modified": "2026-11-20T11:00:00.000Z",
                    "pattern": "[domain-name:value = 'taxii-page-two.net']",
                    "pattern_type": "stix",
                    "valid_from": "2026-11-20T11:00:00Z",
                }
            ],
        }
        taxii_headers = {"X-TAXII-Date-Added-Last": "2026-11-20T11:00:00.000Z"}
        feed_server.route(
            f"{collection}objects/",
            body=json.dumps(first).encode(),
            content_type="application/taxii+json;version=2.1",
            headers=taxii_headers,
        )
        page_two = objects_url(f"{base}{collection}", ObjectsQuery(limit=1000, next=first["next"]))
        feed_server.route(
            page_two[len(base) :],
            body=json.dumps(second).encode(),
            content_type="application/taxii+json;version=2.1",
            headers=taxii_headers,
        )
        page1 = (FEEDS / "otx_pulses_page1.json").read_text().replace("__NEXT__", f"{base}/otx/page2")
        feed_server.route(
            "/otx/pulses/subscribed",
            body=page1.encode(),
            content_type="application/json",
            require_headers={"X-OTX-API-KEY": "otx-secret-123"},
        )
        feed_server.route(
            "/otx/page2",
            body=(FEEDS / "otx_pulses_page2.json").read_bytes(),
            content_type="application/json",
            require_headers={"X-OTX-API-KEY": "otx-secret-123"},
        )
        yield feed_server


def catalog_for(server, tmp_path, text_: str = CATALOG):
    path = tmp_path / "sources.toml"
    path.write_text(text_.format(base=server.url("").rstrip("/")))
    return {d.name: d for d in load_catalog(path, include_bundled=False)}


def ingestor(engine, settings, environ=None, policy=NO_WAIT):
    return Ingestor(engine, settings, environ or {"TEST_OTX_KEY": "otx-secret-123"}, policy=policy)


def values(engine, source=None):
    statement = select(indicators.c.type, indicators.c.value)
    if source:
        statement = (
            select(indicators.c.type, indicators.c.value)
            .select_from(
                indicators.join(sightings, sightings.c.indicator_pk == indicators.c.pk).join(
                    sources, sources.c.id == sightings.c.source_id
                )
            )
            .where(sources.c.name == source)
        )
    with engine.connect() as connection:
        return set(connection.execute(statement).all())


def test_every_format_is_ingested(engine, settings, server, tmp_path):
    catalog = catalog_for(server, tmp_path)
    runner = ingestor(engine, settings)
    outcomes = {name: runner.run(d) for name, d in catalog.items()}
    assert {name: o.status for name, o in outcomes.items()} == dict.fromkeys(catalog, "ingested"), outcomes
    assert ("url", "https://cdn-update-check.top/payload/inv_2026.zip") in values(engine, "URLhaus")
    assert ("ipv4", "185.117.90.142") in values(engine, "Feodo Tracker")
    assert values(engine, "CISA KEV") == {("cve", "CVE-2024-3400"), ("cve", "CVE-2023-4966")}
    assert {("ipv4", "91.134.77.20"), ("domain", "login-secure-verify.online")} <= values(engine, "ThreatFox")
    assert len(values(engine, "STIX partner")) >= 5
    assert len(values(engine, "CIRCL OSINT")) >= 3
    taxii = values(engine, "TAXII partner")
    assert ("domain", "taxii-page-two.net") in taxii and len(taxii) >= 2  # both pages
    with engine.connect() as connection:
        cursor = connection.execute(
            select(sources.c.cursor).where(sources.c.name == "TAXII partner")
        ).scalar()
    assert cursor == "2026-11-20T11:00:00.000Z"  # the next run asks for what was added after this
    otx = values(engine, "AlienVault OTX")
    assert {("ipv4", "185.117.90.142"), ("url", "http://m365-login-check.site/owa/")} <= otx  # both pages
    assert outcomes["AlienVault OTX"].result.skipped == 1  # the CIDR
    advisory = values(engine, "CISA Alerts")
    assert {
        ("ipv4", "194.26.135.89"),
        ("url", "https://glasstide-update.net/agent.bin"),
        ("sha256", "3f9a1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"),
    } <= advisory
    assert not any("facebook" in v for _, v in advisory)  # navigation is not an indicator
    with engine.connect() as connection:
        article = connection.execute(select(articles)).one()
        ip = connection.execute(select(indicators).where(indicators.c.value == "194.26.135.89")).one()
    assert article.title == "GlassTide Targets Water Utilities"
    assert "water" in article.sectors and "T1566.001" in article.mitre_techniques
    assert "water" in ip.industries and "T1059.001" in ip.mitre_techniques
    # Corroboration across formats: Feodo, ThreatFox and URLhaus all name 91.134.77.20 or its URL.
    with engine.connect() as connection:
        shared = connection.execute(
            select(indicators.c.source_count).where(indicators.c.value == "91.134.77.20")
        ).scalar()
    assert shared == 2


def test_a_second_run_costs_nothing(engine, settings, server, tmp_path):
    catalog = catalog_for(server, tmp_path)
    runner = ingestor(engine, settings)
    assert runner.run(catalog["URLhaus"]).status == "ingested"
    before = values(engine)
    with engine.connect() as connection:
        stamps = connection.execute(select(indicators.c.value, indicators.c.updated_at)).all()
    second = runner.run(catalog["URLhaus"])
    assert second.status == "not_modified"
    assert server.log("/urlhaus_csv_recent.csv")[-1].headers.get("if-none-match")
    assert server.log("/urlhaus_csv_recent.csv")[-1].status == 304
    assert values(engine) == before
    with engine.connect() as connection:
        assert connection.execute(select(indicators.c.value, indicators.c.updated_at)).all() == stamps


def test_same_bytes_without_validators_is_unchanged(engine, settings, server, tmp_path):
    server.route("/plain.txt", body=b"185.117.90.143\n", etag=None, last_modified=None)
    definition = catalog_for(
        server,
        tmp_path,
        '[[source]]\nname = "Plain"\ncategory = "community"\nurl = "{base}/plain.txt"\nformat = "txt"\n',
    )["Plain"]
    runner = ingestor(engine, settings)
    assert runner.run(definition).status == "ingested"
    assert runner.run(definition).status == "unchanged"


def test_500_then_success(engine, settings, server, tmp_path):
    server.route("/flaky.txt", body=b"185.117.90.144\n", fail_times=2)
    definition = catalog_for(
        server,
        tmp_path,
        '[[source]]\nname = "Flaky"\ncategory = "community"\nurl = "{base}/flaky.txt"\nformat = "txt"\n',
    )["Flaky"]
    outcome = ingestor(engine, settings).run(definition)
    assert outcome.status == "ingested" and server.hits("/flaky.txt") == 3


SIMPLE = '[[source]]\nname = "{name}"\ncategory = "community"\nurl = "{{base}}{path}"\nformat = "{fmt}"\n'


def health(engine, name):
    with engine.connect() as connection:
        return connection.execute(
            select(
                sources.c.health, sources.c.last_status, sources.c.last_error, sources.c.consecutive_failures
            ).where(sources.c.name == name)
        ).one()


@pytest.mark.parametrize(
    ("route", "fmt", "expected"),
    [
        ({"body": b"185.117.90.145\n", "delay": 1.0}, "txt", "ReadTimeout"),
        (
            {
                "body": gzip.compress("".join(f"185.{i // 250}.{i % 250}.1\n" for i in range(5000)).encode()),
                "truncate": 2000,
            },
            "txt",
            "gzip",
        ),
        (
            {"body": b"<!DOCTYPE html><html><body>Login required</body></html>", "content_type": "text/html"},
            "csv",
            "HTML page",
        ),
        ({"status": 404, "body": b"not here"}, "txt", "HTTP 404"),
    ],
)
def test_a_broken_feed_fails_cleanly_and_marks_the_source(
    engine, settings, server, tmp_path, route, fmt, expected
):
    server.route("/broken", **route)
    definition = catalog_for(server, tmp_path, SIMPLE.format(name="Broken", path="/broken", fmt=fmt))[
        "Broken"
    ]
    outcome = ingestor(engine, settings).run(definition)
    assert outcome.status == "failed" and expected in outcome.message, outcome.message
    row = health(engine, "Broken")
    assert (row.health, row.last_status, row.consecutive_failures) == ("degraded", "failed", 1)
    for _ in range(2):
        ingestor(engine, settings).run(definition)
    assert health(engine, "Broken").health == "error"
    assert values(engine) == set()


def test_rss_xml_bomb_is_refused(engine, settings, server, tmp_path):
    definition = catalog_for(
        server, tmp_path, SIMPLE.format(name="Bomb", path="/rss_billion_laughs.xml", fmt="rss")
    )["Bomb"]
    outcome = ingestor(engine, settings).run(definition)
    assert outcome.status == "failed" and "entit" in outcome.message.lower()


def test_declared_encodings_are_honoured(engine, settings, server, tmp_path):
    body = "value,context\n185.117.90.147,Bot für Überweisungsbetrug\n".encode("latin-1")
    server.route("/latin1.csv", body=body, content_type="text/csv; charset=iso-8859-1")
    server.route("/utf16.txt", body="185.117.90.148\n".encode("utf-16"), content_type="text/plain")
    catalog = catalog_for(
        server,
        tmp_path,
        SIMPLE.format(name="Latin", path="/latin1.csv", fmt="csv")
        + SIMPLE.format(name="Sixteen", path="/utf16.txt", fmt="txt"),
    )
    runner = ingestor(engine, settings)
    assert runner.run(catalog["Latin"]).status == "ingested"
    assert runner.run(catalog["Sixteen"]).status == "ingested"
    with engine.connect() as connection:
        context = connection.execute(
            select(indicators.c.context).where(indicators.c.value == "185.117.90.147")
        ).scalar()
    assert context == "Bot für Überweisungsbetrug"
    assert ("ipv4", "185.117.90.148") in values(engine)


def test_a_feed_that_shrinks_to_nothing_is_degraded_and_changes_nothing(engine, settings, server, tmp_path):
    feed = server.route("/shrinking.txt", body=b"185.117.90.149\n185.117.90.150\n")
    definition = catalog_for(
        server, tmp_path, SIMPLE.format(name="Shrinking", path="/shrinking.txt", fmt="txt")
    )["Shrinking"]
    runner = ingestor(engine, settings)
    assert runner.run(definition).status == "ingested"
    with engine.connect() as connection:
        before = connection.execute(
            select(indicators.c.value, indicators.c.last_seen, indicators.c.updated_at)
        ).all()
    feed.publish(b"# nothing today\n")
    outcome = runner.run(definition)
    assert outcome.status == "degraded" and "listed nothing" in outcome.message
    assert health(engine, "Shrinking").health == "degraded"
    with engine.connect() as connection:
        assert (
            connection.execute(
                select(indicators.c.value, indicators.c.last_seen, indicators.c.updated_at)
            ).all()
            == before
        )
    feed.publish(b"185.117.90.149\n")
    assert runner.run(definition).status == "ingested"
    assert health(engine, "Shrinking").health == "healthy"


def test_a_source_without_its_key_is_skipped_with_a_clear_message(engine, settings, server, tmp_path):
    definition = catalog_for(server, tmp_path)["AlienVault OTX"]
    outcome = ingestor(engine, settings, environ={"OTHER": "x"}).run(definition)
    assert outcome.status == "skipped" and "TEST_OTX_KEY" in outcome.message
    assert server.hits("/otx/pulses/subscribed") == 0


def test_secrets_never_reach_messages_or_the_database(engine, settings, server, tmp_path):
    server.route("/keyed.txt", status=500, body=b"")
    text_ = (
        '[[source]]\nname = "Keyed"\ncategory = "community"\nurl = "{base}/keyed.txt?apikey=hunter2"\n'
        'format = "txt"\nauth_header = "Auth-Key"\nauth_env = "K"\n'
    )
    definition = catalog_for(server, tmp_path, text_)["Keyed"]
    outcome = ingestor(engine, settings, environ={"K": "sup3rsecret"}).run(definition)
    assert outcome.status == "failed"
    assert "hunter2" not in outcome.message and "sup3rsecret" not in outcome.message
    with engine.connect() as connection:
        dump = " ".join(str(v) for row in connection.execute(select(sources)).all() for v in row)
    assert "hunter2" not in dump and "sup3rsecret" not in dump
    assert server.log("/keyed.txt")[0].headers["auth-key"] == "sup3rsecret"


def test_one_failing_source_never_stops_the_others(engine, settings, server, tmp_path):
    from iocfeed.ingest import run_sources

    server.route("/down.txt", status=503, body=b"")
    catalog = catalog_for(
        server,
        tmp_path,
        SIMPLE.format(name="Down", path="/down.txt", fmt="txt")
        + SIMPLE.format(name="Feodo", path="/feodotracker_ipblocklist.txt", fmt="txt"),
    )
    outcomes = run_sources(ingestor(engine, settings), list(catalog.values()))
    assert [o.status for o in outcomes] == ["failed", "ingested"]


def test_two_scheduled_sources_fetch_concurrently_and_write_one_at_a_time(engine, settings, server, tmp_path):
    from iocfeed.scheduler import Scheduler

    server.route("/slow-a.txt", body=b"185.117.90.151\n", body_delay=2.0)
    server.route("/slow-b.txt", body=b"185.117.90.152\n", body_delay=2.0)
    catalog = catalog_for(
        server,
        tmp_path,
        SIMPLE.format(name="A", path="/slow-a.txt", fmt="txt")
        + SIMPLE.format(name="B", path="/slow-b.txt", fmt="txt"),
    )
    scheduler = Scheduler(
        engine,
        ingestor(engine, settings, policy=FetchPolicy(read_timeout=5, sleep=lambda _s: None)),
        list(catalog.values()),
        workers=2,
    )
    started = time.monotonic()
    futures = scheduler.tick()
    assert len(futures) == 2
    outcomes = [f.result(timeout=30) for f in futures]
    elapsed = time.monotonic() - started
    scheduler.shutdown()
    assert {o.status for o in outcomes} == {"ingested"}
    assert elapsed < 3.5  # the two 2 s fetches overlapped (one after the other would take over 4 s)
    with engine.connect() as connection:
        runs = connection.execute(
            select(ingest_runs.c.started_at, ingest_runs.c.finished_at).order_by(ingest_runs.c.started_at)
        ).all()
    assert len(runs) == 2 and runs[0].finished_at <= runs[1].started_at  # writes did not overlap
    assert scheduler.due() == []  # both ran: not due again until their schedule comes round


def test_the_ingest_lock_excludes_a_second_writer(engine, settings):
    from iocfeed.store.lock import LockTimeout, ingest_lock

    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with ingest_lock(engine):
            holding.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(5)
    with pytest.raises(LockTimeout), ingest_lock(engine, timeout=0.3):
        pass
    release.set()
    thread.join()
    with ingest_lock(engine, timeout=1):
        pass


def test_ingest_command_runs_the_bundled_catalog_entries_by_name(
    engine, settings, server, tmp_path, monkeypatch
):
    """`iocfeed ingest NAME` with an operator file that points a bundled source at the fixture server."""
    from typer.testing import CliRunner

    from iocfeed.cli import app

    operator = tmp_path / "operator.toml"
    operator.write_text(
        f'[[source]]\nname = "Feodo Tracker"\nurl = "{server.url("/feodotracker_ipblocklist.txt")}"\n'
    )
    monkeypatch.setenv("IOCFEED_HOME", str(settings.home))
    monkeypatch.setenv("IOCFEED_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("IOCFEED_SOURCES", str(operator))
    result = CliRunner().invoke(app, ["ingest", "Feodo Tracker", "--json"])
    assert result.exit_code == 0, result.output
    assert '"status": "ingested"' in result.stdout
    assert ("ipv4", "162.33.177.51") in values(engine)
    assert CliRunner().invoke(app, ["ingest", "No Such Feed"]).exit_code == 1
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM ingest_runs")).scalar() == 1
