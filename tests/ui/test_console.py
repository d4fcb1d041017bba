"""The web console in a real browser (Debian's chromium driven by playwright) against a live
`iocfeed serve` with the demo data: sign-in and its 401 messages, the feed's filters, cursor paging
and exports, an indicator's page, lookups, the sources page, keys, and a free key's tier messages.

Screenshots of every page go to test-artifacts/screenshots/; with IOCFEED_UPDATE_DOC_SCREENSHOTS=1
they are also copied to docs/screenshots/ for the README (compressed with pngquant when installed). Without chromium or playwright the browser
tests skip, except under CI=true, where that is a failure. The header tests need no browser.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from iocfeed.config import Settings
from iocfeed.demo import import_demo
from iocfeed.store.accounts import revoke_key
from iocfeed.store.engine import make_engine
from iocfeed.store.migrate import upgrade
from iocfeed.store.schema import api_keys
from iocfeed.timeutil import now_us
from tests.api.test_rate_limits import _free_port, _wait_for
from tests.conftest import ingest_values, make_key, skip_or_fail

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "screenshots"
DOC_SCREENSHOTS = REPO / "docs" / "screenshots"
RICH_INDICATOR = "data-access-store.top"  # three sources, one of them an advisory, in the demo data


@dataclass
class Console:
    base: str
    settings: Settings
    pro_key: str
    free_key: str
    expired_key: str
    revoked_key: str

    def api(self, path: str, key: str | None = None, **params: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key or self.pro_key}"}
        return httpx.get(f"{self.base}{path}", params=params or None, headers=headers, timeout=10)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """`iocfeed serve` on a loopback port over the demo data, with keys in every state."""
    root = tmp_path_factory.mktemp("console")
    database_url = f"sqlite:///{root / 'iocfeed.db'}"
    settings = Settings(home=root / "home", database_url=database_url)
    engine = make_engine(database_url)
    upgrade(engine)
    import_demo(engine, settings)
    pro_key, _ = make_key(settings, engine, "pro", account="soc-team")
    free_key, _ = make_key(settings, engine, "free", account="free-team")
    expired_key, expired_id = make_key(settings, engine, "pro", account="expired-team", expires_in_days=1)
    revoked, revoked_id = make_key(settings, engine, "pro", account="revoked-team")
    with engine.begin() as connection:
        connection.execute(
            update(api_keys).where(api_keys.c.id == expired_id).values(expires_at=now_us() - 1)
        )
    revoke_key(engine, revoked_id, "test")
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "IOCFEED_HOME": str(settings.home), "IOCFEED_DATABASE_URL": database_url}
    env.pop("IOCFEED_REDIS_URL", None)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "iocfeed"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base, server)
        yield Console(base, settings, pro_key, free_key, expired_key, revoked)
    finally:
        server.terminate()
        server.wait(timeout=20)
        server.stdout.close()  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the browser tests need the playwright package (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        skip_or_fail(f"the browser tests need chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, console: Console):
    """A fresh tab (its own sessionStorage); fails the test on a script error or a CSP violation."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=console.base)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=console.base)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    tab.on(
        "console",
        lambda message: problems.append(message.text) if "Content Security Policy" in message.text else None,
    )
    yield tab
    context.close()
    assert not problems, problems


def screenshot(page, name: str, full_page: bool = False) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)
    if os.environ.get("IOCFEED_UPDATE_DOC_SCREENSHOTS") == "1":
        DOC_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = DOC_SCREENSHOTS / f"{name}.png"
        shutil.copyfile(ARTIFACTS / f"{name}.png", target)
        if shutil.which("pngquant"):  # a third of the size, no visible change (apt-get install pngquant)
            subprocess.run(
                ["pngquant", "--quality=80-95", "--strip", "--force", "--output", str(target), str(target)],
                check=True,
            )


def sign_in(page, key: str, route: str = "") -> None:
    page.goto(f"/ui/{route}")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def sign_in_error(page) -> str:
    error = page.locator("#api-key-error")
    error.filter(has_text="key").wait_for()
    return error.inner_text()


# -- no browser needed ------------------------------------------------------------------------


def test_console_pages_carry_strict_security_and_cache_headers(console: Console):
    root = httpx.get(f"{console.base}/", follow_redirects=False)
    assert root.status_code == 302 and root.headers["location"] == "/ui/"
    index = httpx.get(f"{console.base}/ui/")
    csp = index.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and "form-action 'none'" in csp
    assert index.headers["x-content-type-options"] == "nosniff"
    assert index.headers["referrer-policy"] == "no-referrer"
    assert index.headers["cache-control"] == "no-cache"
    assert "<script" not in index.text.replace(
        '<script type="module" src="/ui/assets/', ""
    )  # no inline script
    asset = index.text.split('src="')[1].split('"')[0]
    script = httpx.get(f"{console.base}{asset}")
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert script.headers["content-type"].startswith("text/javascript")
    again = httpx.get(f"{console.base}{asset}", headers={"If-None-Match": script.headers["etag"]})
    assert again.status_code == 304
    assert httpx.get(f"{console.base}/ui/assets/{asset.split('/')[3]}/secret.key").status_code == 404
    paths = httpx.get(f"{console.base}/openapi.json").json()["paths"]
    assert not [p for p in paths if p == "/" or p.startswith("/ui")]


def test_sparklines_need_a_key_and_draw_every_source(console: Console):
    assert httpx.get(f"{console.base}/ui/feeds/sparklines.svg").json()["error"]["code"] == "missing_api_key"
    assert console.api("/ui/feeds/sparklines.svg", days="0").status_code == 400
    drawing = console.api("/ui/feeds/sparklines.svg", days="7")
    assert (
        drawing.headers["content-type"] == "image/svg+xml" and drawing.headers["cache-control"] == "no-store"
    )
    feeds = console.api("/api/v1/feeds").json()["data"]
    for feed in feeds:
        assert f'data-source="{feed["name"]}"' in drawing.text
    one = console.api("/ui/feeds/sparklines.svg", source=feeds[0]["name"]).text
    assert one.count("data-source=") == 1
    assert console.api("/ui/feeds/sparklines.svg", source="no such feed").status_code == 404


# -- in the browser -----------------------------------------------------------------------------


def test_sign_in_explains_each_401_and_keeps_the_key_out_of_urls_and_cookies(page, console: Console):
    page.goto("/")
    screenshot(page, "sign-in")
    page.get_by_role("button", name="Sign in").click()
    assert "No API key was given" in sign_in_error(page)
    for key, expected in (
        ("sk_live_" + "x" * 40, "not valid"),
        (console.revoked_key, "has been revoked"),
        (console.expired_key, "has expired"),
    ):
        page.get_by_label("API key").fill(key)
        page.get_by_role("button", name="Sign in").click()
        page.locator("#api-key-error", has_text=expected).wait_for()
    assert page.evaluate("sessionStorage.getItem('iocfeed.apiKey')") is None  # a bad key is not kept
    page.get_by_label("API key").fill(console.pro_key)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Feed").wait_for()
    assert page.locator("#session-label").inner_text() == "soc-team · pro tier"
    assert page.evaluate("sessionStorage.getItem('iocfeed.apiKey')") == console.pro_key
    assert console.pro_key not in page.url and page.evaluate("document.cookie") == ""
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    assert page.evaluate("sessionStorage.getItem('iocfeed.apiKey')") is None


def test_feed_filters_and_cursor_paging(page, console: Console):
    sign_in(page, console.pro_key)
    page.get_by_role("heading", name="Feed").wait_for()
    page.get_by_label("ipv4", exact=True).check()
    page.get_by_label("high", exact=True).check()
    page.get_by_role("button", name="Apply filters").click()
    expected = console.api("/api/v1/iocs", type="ipv4", confidence="high", limit=50).json()
    page.locator("caption", has_text=f"{expected['meta']['total']} indicators").wait_for()
    assert "type=ipv4&confidence=high" in page.url
    assert set(page.locator("tbody td:nth-child(2)").all_inner_texts()) == {"ipv4"}
    values = page.locator("tbody a.value").all_inner_texts()
    assert values == [r["value"] for r in expected["data"]]

    page.goto("/ui/#/feed?status=all&limit=25")
    page.locator("caption", has_text="page 1 shows 1–25").wait_for()
    first_page = page.locator("tbody a.value").all_inner_texts()
    page.get_by_role("button", name="Next page").click()
    page.locator("caption", has_text="page 2 shows 26–50").wait_for()
    second_page = page.locator("tbody a.value").all_inner_texts()
    assert len(second_page) == 25 and not set(first_page) & set(second_page)
    page.get_by_role("button", name="Previous page").click()
    page.locator("caption", has_text="page 1 shows 1–25").wait_for()
    assert page.locator("tbody a.value").all_inner_texts() == first_page

    page.get_by_label("Show values defanged").check()
    assert "[.]" in page.locator("tbody a.value").first.inner_text()
    page.locator("tbody button.copy").first.click()
    assert "[.]" in page.evaluate("navigator.clipboard.readText()")  # copies what is shown
    page.get_by_label("Show values defanged").uncheck()
    page.goto("/ui/#/feed")
    page.locator("caption", has_text="page 1 shows").wait_for()
    screenshot(page, "feed")


def test_exports_download_with_the_bearer_header(page, console: Console):
    sign_in(page, console.pro_key, "#/feed?type=domain")
    page.locator("caption", has_text="page 1").wait_for()
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="CSV").click()
    rows = list(csv.reader(io.StringIO(Path(csv_download.value.path()).read_text())))
    assert rows[0][:3] == ["id", "type", "value"] and {r[1] for r in rows[1:]} == {"domain"}
    with page.expect_download() as stix_download:
        page.get_by_role("button", name="STIX 2.1").click()
    assert json.loads(Path(stix_download.value.path()).read_text())["type"] == "bundle"
    assert stix_download.value.suggested_filename.endswith(".stix.json")


def test_indicator_page_and_lookups(page, console: Console):
    sign_in(page, console.pro_key)
    page.get_by_role("heading", name="Feed").wait_for()
    # The domain is known, a URL on it is not: a lookup is of the exact value, and says so.
    page.get_by_label("Look up an indicator").fill("hxxps://data-access-store[.]top")
    page.get_by_role("button", name="Look up").click()
    page.get_by_role("heading", name="Not known").wait_for()
    assert "not the same as safe" in page.locator("main").inner_text()
    page.get_by_label("Look up an indicator").fill("data-access-store[.]top")
    page.get_by_role("button", name="Look up").click()
    page.get_by_role("heading", name=RICH_INDICATOR).wait_for()
    record = console.api("/api/v1/lookup", value=RICH_INDICATOR).json()["data"]
    assert page.url.endswith(f"#/ioc/{record['id']}")
    main = page.locator("main")
    for source in record["sources"]:
        main.get_by_role("cell", name=source["feed_name"], exact=True).first.wait_for()
    assert main.locator("svg.chart[role=img]").count() == 1
    assert record["score_breakdown"]["explanation"] in main.inner_text()
    assert record["hunting_queries"]["splunk_spl"] in main.inner_text()
    page.get_by_role("button", name="Copy Splunk (SPL) query").click()
    assert page.evaluate("navigator.clipboard.readText()") == record["hunting_queries"]["splunk_spl"]
    page.reload()  # the address is the indicator's own: it loads by id
    page.get_by_role("heading", name=RICH_INDICATOR).wait_for()
    screenshot(page, "indicator", full_page=True)

    page.get_by_label("Look up an indicator").fill("hxxp://never-reported[.]example[.]com/x")
    page.get_by_role("button", name="Look up").click()
    page.get_by_role("heading", name="Not known").wait_for()
    screenshot(page, "lookup-not-known")
    page.get_by_label("Look up an indicator").fill("not an indicator at all")
    page.get_by_role("button", name="Look up").click()
    page.get_by_role("heading", name="Not an indicator").wait_for()


def test_sources_page_with_sparklines(page, console: Console):
    sign_in(page, console.pro_key, "#/feeds")
    page.get_by_role("heading", name="Sources").wait_for()
    feeds = console.api("/api/v1/feeds").json()["data"]
    page.locator("svg.sparkline").nth(len(feeds) - 1).wait_for()
    assert page.locator("tbody tr").count() == len(feeds)
    label = page.locator("svg.sparkline").first.get_attribute("aria-label")
    assert label.startswith(f"{feeds[0]['name']}: {feeds[0]['indicator_count']} new indicators")
    screenshot(page, "sources")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "sources-dark")


def test_create_and_revoke_a_key(page, console: Console):
    sign_in(page, console.pro_key, "#/keys")
    page.get_by_role("heading", name="Keys", exact=True).wait_for()
    page.locator(".usage p", has_text="requests in the last 14 days").wait_for()  # this key's usage
    page.get_by_label("Name").fill("ui-test-splunk")
    page.get_by_label("Expires after").select_option("30")
    page.get_by_role("button", name="Create key").click()
    new_key = page.locator("#new-key-value").inner_text()
    assert new_key.startswith("sk_live_")
    page.get_by_role("button", name="Copy new key").click()
    assert page.evaluate("navigator.clipboard.readText()") == new_key
    assert console.api("/api/v1/feeds", key=new_key).status_code == 200
    page.get_by_role("button", name="Done: I have stored it").click()
    assert page.locator("#new-key-value").count() == 0  # shown once
    row = page.locator("tr", has=page.get_by_role("rowheader", name="ui-test-splunk"))
    row.get_by_role("button", name="Revoke").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Reason").fill("rotated by the UI test")
    dialog.get_by_role("button", name="Revoke key").click()
    row.get_by_text("revoked", exact=True).wait_for()
    assert console.api("/api/v1/feeds", key=new_key).json()["error"]["code"] == "invalid_api_key"
    screenshot(page, "keys", full_page=True)


def test_a_key_revoked_elsewhere_signs_the_console_out_with_the_reason(page, console: Console):
    headers = {"Authorization": f"Bearer {console.pro_key}"}
    minted = httpx.post(f"{console.base}/api/v1/keys", json={"name": "short-lived"}, headers=headers).json()
    sign_in(page, minted["data"]["key"])
    page.get_by_role("heading", name="Feed").wait_for()
    httpx.delete(f"{console.base}/api/v1/keys/{minted['data']['id']}", headers=headers).raise_for_status()
    page.get_by_role("link", name="Sources").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    assert "has been revoked" in page.locator("#alert").inner_text()
    assert page.evaluate("sessionStorage.getItem('iocfeed.apiKey')") is None
    assert page.url.endswith("#/feeds")  # signing in again returns there


def test_a_free_key_sees_tier_messages_instead_of_failing_downloads(page, console: Console):
    sign_in(page, console.free_key)
    page.get_by_role("heading", name="Feed").wait_for()
    note = page.locator("#export-tier-note")
    assert "need the pro tier" in note.inner_text() and "free tier" in note.inner_text()
    assert page.get_by_role("button", name="CSV").count() == 0
    assert "looks back 1 day" in page.locator("#filter-since-help").inner_text()
    screenshot(page, "feed-free-tier")
    page.get_by_role("link", name="Keys").click()
    page.get_by_text("no (pro tier)").wait_for()
    assert "1 active of 3 allowed" in page.locator("main").inner_text()


# -- last: it adds a source, which the screenshots above should not show ----------------------------


def test_sparklines_follow_ingestion_without_making_the_page_wait(console: Console):
    """After a write, the previous counts are served at once and recounted in the background."""
    before = console.api("/ui/feeds/sparklines.svg").text
    engine = make_engine(console.settings.effective_database_url)
    ingest_values(engine, console.settings, "UI Test Feed", "community", ["198.51.100.7", "198.51.100.8"])
    engine.dispose()
    deadline = time.monotonic() + 10
    while 'data-source="UI Test Feed"' not in (drawing := console.api("/ui/feeds/sparklines.svg").text):
        assert time.monotonic() < deadline, "the counts were never refreshed"
        assert drawing == before  # meanwhile: the previous counts, not an error or a wait
        time.sleep(0.1)
    assert 'aria-label="UI Test Feed: 2 new indicators in the last 30 days' in drawing
