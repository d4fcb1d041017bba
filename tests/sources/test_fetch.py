"""Fetching against a real HTTP server on a loopback port: validators, retries, caps, unpacking,
encodings, and secrets that must never reach a message."""

from __future__ import annotations

import codecs
import gzip
import hashlib
import random
import time
import traceback
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from iocfeed.errors import FetchError, IocfeedError
from iocfeed.sources.content import check_content, text_stream
from iocfeed.sources.fetch import FetchPolicy, FetchResult, fetch
from iocfeed.sources.urls import sanitize_url
from tests.fixtures.http_server import FeedServer, gzip_bytes, http_date, zip_bytes

CSV = b"value,type\n1.2.3.4,ipv4\nevil.example,domain\n"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FeedServer]:
    with FeedServer(tmp_path / "www") as feed_server:
        yield feed_server


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    path = tmp_path / "dest"
    path.mkdir()
    return path


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def policy(sleeps: list[float]) -> FetchPolicy:
    """Real timeouts, but retry waits are recorded instead of slept."""
    return FetchPolicy(connect_timeout=2.0, read_timeout=2.0, sleep=sleeps.append)


def leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir())


def body_of(result: FetchResult) -> bytes:
    assert result.status == "fetched" and result.path is not None
    return result.path.read_bytes()


# -- conditional requests ---------------------------------------------------------------------------


def test_etag_then_304_transfers_no_body(server, dest, policy):
    server.route("/urlhaus.csv", body=CSV, last_modified=None)
    first = fetch(server.url("/urlhaus.csv"), None, policy, dest_dir=dest)
    assert body_of(first) == CSV and first.content_type == "text/csv"
    assert first.new_state.etag and first.new_state.content_digest == hashlib.sha256(CSV).hexdigest()

    second = fetch(server.url("/urlhaus.csv"), first.new_state, policy, dest_dir=dest)
    assert second.status == "not_modified" and second.path is None and second.bytes_read == 0
    assert second.new_state == first.new_state
    request = server.log("/urlhaus.csv")[-1]
    assert request.headers["if-none-match"] == first.new_state.etag
    assert request.status == 304 and request.body_bytes == 0
    assert leftovers(dest) == [first.path.name]


def test_last_modified_alone_gives_304(server, dest, policy):
    server.route("/feodo.txt", body=b"1.2.3.4\n", etag=None, last_modified=http_date(1_700_000_000))
    first = fetch(server.url("/feodo.txt"), None, policy, dest_dir=dest)
    assert first.new_state.etag is None and first.new_state.last_modified == "Tue, 14 Nov 2023 22:13:20 GMT"
    second = fetch(server.url("/feodo.txt"), first.new_state, policy, dest_dir=dest)
    assert second.status == "not_modified"
    assert server.log("/feodo.txt")[-1].headers["if-modified-since"] == "Tue, 14 Nov 2023 22:13:20 GMT"


def test_a_new_version_is_fetched_with_its_new_validators(server, dest, policy):
    route = server.route("/kev.json", body=b'{"v": 1}')
    first = fetch(server.url("/kev.json"), None, policy, dest_dir=dest)
    route.publish(b'{"v": 2}')
    second = fetch(server.url("/kev.json"), first.new_state, policy, dest_dir=dest)
    assert body_of(second) == b'{"v": 2}'
    assert second.new_state.etag != first.new_state.etag
    assert second.new_state.last_modified != first.new_state.last_modified


def test_same_digest_is_unchanged_and_leaves_no_file(server, dest, policy):
    route = server.route("/openphish.txt", body=b"http://phish.example/\n", etag=None, last_modified=None)
    first = fetch(server.url("/openphish.txt"), None, policy, dest_dir=dest)
    first.path.unlink()
    second = fetch(server.url("/openphish.txt"), first.new_state, policy, dest_dir=dest)
    assert second.status == "unchanged" and second.path is None and leftovers(dest) == []
    assert second.new_state == first.new_state and second.bytes_read > 0

    route.publish(b"http://phish.example/\nhttp://other.example/\n")
    third = fetch(server.url("/openphish.txt"), second.new_state, policy, dest_dir=dest)
    assert third.status == "fetched" and third.new_state.content_digest != first.new_state.content_digest


# -- retries ----------------------------------------------------------------------------------------


def test_500_then_success_is_retried_with_growing_backoff(server, dest, policy, sleeps):
    server.route("/threatfox.json", body=b"[]", fail_times=2)
    result = fetch(server.url("/threatfox.json"), None, policy, dest_dir=dest)
    assert body_of(result) == b"[]"
    assert [r.status for r in server.log("/threatfox.json")] == [500, 500, 200]
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0


def test_persistent_500_gives_up_with_a_clean_message(server, dest, sleeps):
    server.route("/down.csv", body=CSV, status=500)
    policy = FetchPolicy(retries=2, backoff_base=1.0, backoff_cap=1.5, sleep=sleeps.append)
    with pytest.raises(FetchError) as caught:
        fetch(server.url("/down.csv"), None, policy, dest_dir=dest)
    assert str(caught.value) == f"fetching {server.url('/down.csv')} failed after 3 attempts: HTTP 500"
    assert caught.value.attempts == 3 and caught.value.upstream_status == 500
    assert isinstance(caught.value, IocfeedError)
    assert server.hits("/down.csv") == 3 and len(sleeps) == 2 and max(sleeps) <= 1.5
    assert leftovers(dest) == []


def test_other_4xx_is_not_retried(server, dest, policy, sleeps):
    with pytest.raises(FetchError, match=r"failed after 1 attempt: HTTP 404$"):
        fetch(server.url("/missing.csv"), None, policy, dest_dir=dest)
    assert server.hits("/missing.csv") == 1 and sleeps == []


@pytest.mark.parametrize("stall", ["delay", "body_delay"])
def test_a_timeout_is_retried_then_reported(server, dest, sleeps, stall):
    server.route("/slow.txt", body=b"1.2.3.4\n", **{stall: 2.0})
    policy = FetchPolicy(read_timeout=0.2, retries=1, sleep=sleeps.append)
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"/slow\.txt failed after 2 attempts: ReadTimeout$"):
        fetch(server.url("/slow.txt"), None, policy, dest_dir=dest)
    assert time.monotonic() - started < 1.9  # two 0.2 s timeouts, not a 2 s wait
    assert server.hits("/slow.txt") == 2
    assert len(sleeps) == 1 and leftovers(dest) == []


def test_a_connection_refused_is_retried(dest, sleeps):
    policy = FetchPolicy(retries=2, sleep=sleeps.append)
    with FeedServer(dest.parent / "gone") as gone:
        url = gone.url("/feed.csv")
    with pytest.raises(FetchError, match=r"failed after 3 attempts: ConnectError$"):
        fetch(url, None, policy, dest_dir=dest)


@pytest.mark.parametrize(("retry_after", "expected_wait"), [("7", 7.0), ("3600", 30.0)])
def test_429_honours_retry_after_up_to_the_cap(server, dest, policy, sleeps, retry_after, expected_wait):
    server.route("/otx.json", body=b"{}", fail_times=1, fail_status=429, retry_after=retry_after)
    result = fetch(server.url("/otx.json"), None, policy, dest_dir=dest)
    assert result.status == "fetched" and sleeps == [expected_wait]


def test_retry_after_as_an_http_date(server, dest, policy, sleeps):
    server.route("/busy.csv", body=CSV, fail_times=1, fail_status=503, retry_after=http_date(time.time() + 5))
    fetch(server.url("/busy.csv"), None, policy, dest_dir=dest)
    assert len(sleeps) == 1 and 3.0 <= sleeps[0] <= 5.0


def test_redirects_are_followed_and_bounded(server, dest, policy, sleeps):
    server.route("/old.csv", redirect_to="/new.csv")
    server.route("/new.csv", body=CSV)
    result = fetch(server.url("/old.csv"), None, policy, dest_dir=dest)
    assert body_of(result) == CSV and result.url == server.url("/new.csv")

    server.route("/loop", redirect_to="/loop")
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch(server.url("/loop"), None, policy, dest_dir=dest)
    assert server.hits("/loop") == 6 and sleeps == []


# -- compression ------------------------------------------------------------------------------------


def test_gzip_content_encoding_is_decoded(server, dest, policy):
    data = CSV * 1000
    server.route("/urlhaus.csv", body=data, content_encoding="gzip")
    result = fetch(server.url("/urlhaus.csv"), None, policy, dest_dir=dest)
    assert body_of(result) == data and result.size == len(data) and result.bytes_read < len(data) // 10
    assert server.log("/urlhaus.csv")[0].headers["accept-encoding"] == "gzip"
    assert result.new_state.content_digest == hashlib.sha256(data).hexdigest()


def test_a_gz_file_is_unpacked_even_when_also_gzip_encoded(server, dest, policy):
    server.add_file("feed.csv.gz", gzip_bytes(CSV))
    assert body_of(fetch(server.url("/feed.csv.gz"), None, policy, dest_dir=dest)) == CSV
    server.route("/double.csv.gz", body=gzip_bytes(CSV), content_encoding="gzip")
    assert body_of(fetch(server.url("/double.csv.gz"), None, policy, dest_dir=dest)) == CSV


def test_concatenated_gzip_members_are_all_read(server, dest, policy):
    server.route("/multi.gz", body=gzip_bytes(b"a\n") + gzip_bytes(b"b\n"))
    assert body_of(fetch(server.url("/multi.gz"), None, policy, dest_dir=dest)) == b"a\nb\n"


@pytest.mark.parametrize("how", ["gz file", "content-encoding"])
def test_truncated_gzip_fails_and_leaves_nothing(server, dest, policy, sleeps, how):
    data = b"".join(b"http://bad%d.example/\n" % i for i in range(20_000))
    if how == "gz file":
        server.route("/cut.gz", body=gzip_bytes(data)[:-100])
    else:  # httpx alone would hand back a shorter body without a word
        server.route("/cut.gz", body=data, content_encoding="gzip", truncate=len(gzip_bytes(data)) - 100)
    with pytest.raises(FetchError, match="gzip data is truncated") as caught:
        fetch(server.url("/cut.gz"), None, policy, dest_dir=dest)
    assert caught.value.attempts == 1 and sleeps == []
    assert leftovers(dest) == []


def test_corrupt_gzip_fails(server, dest, policy):
    server.route("/bad.gz", body=b"\x1f\x8b\x08\x00" + b"\xff" * 100)
    with pytest.raises(FetchError, match="gzip data is corrupt"):
        fetch(server.url("/bad.gz"), None, policy, dest_dir=dest)
    assert leftovers(dest) == []


def test_zip_with_one_member_is_extracted(server, dest, policy):
    server.route("/full.zip", body=zip_bytes({"csv.txt": CSV}), content_type="application/zip")
    result = fetch(server.url("/full.zip"), None, policy, dest_dir=dest)
    assert body_of(result) == CSV and leftovers(dest) == [result.path.name]


def test_zip_member_is_chosen_by_name(server, dest, policy):
    server.route("/two.zip", body=zip_bytes({"readme.txt": b"hi", "data/feed.csv": CSV}))
    result = fetch(server.url("/two.zip"), None, policy, dest_dir=dest, zip_member="data/feed.csv")
    assert body_of(result) == CSV
    result.path.unlink()
    with pytest.raises(FetchError, match=r"holds 2 files \(readme.txt, data/feed.csv\); name one"):
        fetch(server.url("/two.zip"), None, policy, dest_dir=dest)
    with pytest.raises(FetchError, match=r"no member named 'nope\.csv'"):
        fetch(server.url("/two.zip"), None, policy, dest_dir=dest, zip_member="nope.csv")
    assert leftovers(dest) == []


def test_truncated_zip_fails(server, dest, policy):
    server.route("/cut.zip", body=zip_bytes({"feed.csv": CSV * 100})[:-30])
    with pytest.raises(FetchError, match="zip archive is unusable"):
        fetch(server.url("/cut.zip"), None, policy, dest_dir=dest)
    assert leftovers(dest) == []


# -- size caps --------------------------------------------------------------------------------------


def test_a_body_over_the_cap_fails_and_leaves_nothing(server, dest):
    policy = FetchPolicy(max_bytes=1000, max_compressed_bytes=1000)
    server.route("/big.txt", body=b"1.2.3.4\n" * 1000)  # Content-Length says too big: refused unread
    with pytest.raises(FetchError, match="larger than the cap"):
        fetch(server.url("/big.txt"), None, policy, dest_dir=dest)
    assert server.hits("/big.txt") == 1
    assert leftovers(dest) == []


@pytest.mark.parametrize("how", ["gz file", "content-encoding", "zip"])
def test_a_decompression_bomb_stops_at_the_cap(server, dest, how):
    policy = FetchPolicy(max_bytes=100_000, max_compressed_bytes=100_000)
    data = b"\0" * 5_000_000
    if how == "gz file":
        server.route("/bomb", body=gzip_bytes(data))
    elif how == "zip":
        server.route("/bomb", body=zip_bytes({"bomb.txt": data}))
    else:
        server.route("/bomb", body=data, content_encoding="gzip")
    with pytest.raises(FetchError, match="body is larger than the cap of 100000 bytes"):
        fetch(server.url("/bomb"), None, policy, dest_dir=dest)
    assert leftovers(dest) == []


def test_a_compressed_body_over_its_own_cap_fails(server, dest):
    policy = FetchPolicy(max_bytes=10_000_000, max_compressed_bytes=1000)
    server.route("/big.gz", body=gzip_bytes(random.Random(0).randbytes(5000)))  # incompressible
    with pytest.raises(FetchError, match="compressed body is larger than the cap of 1000 bytes"):
        fetch(server.url("/big.gz"), None, policy, dest_dir=dest)
    assert leftovers(dest) == []


# -- content sanity and encodings -------------------------------------------------------------------


def test_html_error_page_where_csv_was_expected(server, dest, policy):
    server.route("/urlhaus.csv", body=b"<!DOCTYPE html><title>Maintenance</title>", content_type="text/html")
    result = fetch(server.url("/urlhaus.csv?auth=k3y"), None, policy, dest_dir=dest)
    with pytest.raises(FetchError, match="returned an HTML page where csv was expected") as caught:
        check_content(result.path, "csv", result.content_type, url=result.url)
    assert "k3y" not in str(caught.value)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xef\xbb\xbf  \n<html><body>login</body></html>", "text/plain"),
        (b"\n\t<!doctype HTML>\n<html>", None),
        (b"value\n1.2.3.4\n", "text/html; charset=utf-8"),
        ("<html>".encode("utf-16"), "text/csv"),
    ],
)
def test_html_is_recognised_by_body_or_content_type(tmp_path, body, content_type):
    path = tmp_path / "body"
    path.write_bytes(body)
    with pytest.raises(FetchError, match="HTML page where txt was expected"):
        check_content(path, "txt", content_type)


def test_json_must_start_with_an_object_or_array(tmp_path):
    path = tmp_path / "body"
    path.write_bytes(b'\xef\xbb\xbf \n [{"ioc": "1.2.3.4"}]')
    check_content(path, "json", "application/json")
    path.write_bytes(b"Rate limit exceeded, try later")
    with pytest.raises(FetchError, match="returned 'Rate limit exceeded, try later' where json was expected"):
        check_content(path, "json", "application/json")
    path.write_bytes(b"")
    with pytest.raises(FetchError, match="an empty body where json was expected"):
        check_content(path, "json", None)
    check_content(path, "csv", "text/csv")  # an empty CSV is a feed with no rows, judged downstream


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("café.example,Zürich\n".encode("latin-1"), "text/csv; charset=ISO-8859-1"),
        ("café.example,Zürich\n".encode("utf-16"), "text/csv"),  # BOM, no charset
        ("café.example,Zürich\n".encode("utf-16"), "text/csv; charset=utf-8"),  # the BOM wins
        ("café.example,Zürich\n".encode("utf-16-le"), "text/csv"),  # no BOM: NUL pattern
        ("café.example,Zürich\n".encode("utf-16-be"), 'text/csv; charset="UTF-16BE"'),
        (codecs.BOM_UTF8 + "café.example,Zürich\n".encode(), "text/csv"),
        ("café.example,Zürich\n".encode(), "text/csv; charset=no-such-charset"),
    ],
    ids=[
        "latin-1",
        "utf-16-bom",
        "bom-beats-charset",
        "utf-16le-no-bom",
        "utf-16be",
        "utf-8-bom",
        "unknown-charset",
    ],
)
def test_text_stream_decodes_declared_and_bom_encodings(server, dest, policy, body, content_type):
    server.route("/feed.csv", body=body, content_type=content_type)
    result = fetch(server.url("/feed.csv"), None, policy, dest_dir=dest)
    with text_stream(result) as stream:
        assert stream.read() == "café.example,Zürich\n"


def test_text_stream_replaces_undecodable_bytes(server, dest, policy):
    server.route("/feed.txt", body=b"ok.example\nbad\xff.example\n", content_type="text/plain; charset=utf-8")
    result = fetch(server.url("/feed.txt"), None, policy, dest_dir=dest)
    with text_stream(result) as stream:
        assert stream.read().splitlines() == ["ok.example", "bad\ufffd.example"]


# -- secrets ----------------------------------------------------------------------------------------


def test_auth_header_is_sent_and_never_in_the_error(server, dest, policy):
    server.route("/private.json", body=b"[]", require_headers={"Auth-Key": "s3cret-value"})
    result = fetch(
        server.url("/private.json"), None, policy, dest_dir=dest, headers={"Auth-Key": "s3cret-value"}
    )
    assert body_of(result) == b"[]"
    assert server.log("/private.json")[0].headers["auth-key"] == "s3cret-value"
    assert server.log("/private.json")[0].headers["user-agent"].startswith("iocfeed/")

    with pytest.raises(FetchError) as caught:
        fetch(server.url("/private.json"), None, policy, dest_dir=dest, headers={"Auth-Key": "wrong-s3cret"})
    assert str(caught.value).endswith("failed after 1 attempt: HTTP 401")
    assert "s3cret" not in _everything_about(caught.value)


def test_auth_header_does_not_follow_a_redirect_to_another_origin(server, dest, policy, tmp_path):
    with FeedServer(tmp_path / "other") as other:
        other.route("/feed.json", body=b"[]")
        server.route("/same", redirect_to="/private.json")
        server.route("/private.json", body=b"{}")
        server.route("/away", redirect_to=other.url("/feed.json"))
        fetch(server.url("/same"), None, policy, dest_dir=dest, headers={"Auth-Key": "s3cret"})
        fetch(server.url("/away"), None, policy, dest_dir=dest, headers={"Auth-Key": "s3cret"})
        assert server.log("/private.json")[0].headers.get("auth-key") == "s3cret"
        assert "auth-key" not in other.log("/feed.json")[0].headers


def test_query_secrets_and_userinfo_are_never_printed(server, dest, policy):
    server.route("/export.json", body=b"[]", status=503)
    host = server.base_url.removeprefix("http://")
    url = f"http://analyst:hunter2@{host}/export.json?apikey=secret123&limit=10&Auth_Token=tok456#frag"
    with pytest.raises(FetchError) as caught:
        fetch(url, None, FetchPolicy(retries=1, sleep=lambda _: None), dest_dir=dest)
    text = _everything_about(caught.value)
    for secret in ("hunter2", "analyst", "secret123", "tok456"):
        assert secret not in text
    assert f"http://{host}/export.json?apikey=REDACTED&limit=10&Auth_Token=REDACTED" in str(caught.value)
    assert server.log("/export.json")[0].query == "apikey=secret123&limit=10&Auth_Token=tok456"

    server.route("/export.json", body=b"[]")
    assert "secret123" not in fetch(url, None, policy, dest_dir=dest).url


def test_an_unusable_url_fails_without_retry_or_leak(dest, policy, sleeps):
    with pytest.raises(FetchError, match=r"failed after 1 attempt: UnsupportedProtocol$") as caught:
        fetch("ftp://user:pw@feeds.example/x?token=abc", None, policy, dest_dir=dest)
    assert "abc" not in _everything_about(caught.value) and sleeps == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://u:p@Feeds.Example:8443/a/b.csv?key=1&x=2#top", "https://feeds.example:8443/a/b.csv?key=REDACTED&x=2"),
        ("https://h/x?api_key=1&access_token=2&sig=3&q=ok&flag", "https://h/x?api_key=REDACTED&access_token=REDACTED&sig=REDACTED&q=ok&flag"),
        ("http://[2001:db8::1]:8080/f?password=pw", "http://[2001:db8::1]:8080/f?password=REDACTED"),
        ("https://h/plain.txt", "https://h/plain.txt"),
        ("http://h:notaport/", "<unparseable url>"),
    ],
)  # fmt: skip
def test_sanitize_url(url, expected):
    assert sanitize_url(url) == expected


def _everything_about(exc: BaseException) -> str:
    """What a log could show: the message, the details, and every exception chained to it (the
    traceback's source lines are left out: they would quote this test's own call)."""
    text = repr(getattr(exc, "details", {}))
    seen: BaseException | None = exc
    while seen is not None:
        text += "".join(traceback.format_exception_only(seen))
        seen = seen.__cause__ or seen.__context__
    return text


# -- memory -----------------------------------------------------------------------------------------


def _generate_feed(path: Path, size: int, *, compress: bool = False) -> str:
    digest = hashlib.sha256()
    block = b"".join(
        b"http://host%07d.bad.example/path/payload.exe,malware_download,%07d\n" % (i, i) for i in range(1000)
    )
    with gzip.open(path, "wb", compresslevel=1) if compress else open(path, "wb") as out:
        written = 0
        while written < size:
            out.write(block)
            digest.update(block)
            written += len(block)
    return digest.hexdigest()


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_a_50_mb_feed_is_fetched_with_bounded_memory(server, dest, policy, compress):
    name = "big.csv.gz" if compress else "big.csv"
    expected_digest = _generate_feed(server.root / name, 50 * 1024 * 1024, compress=compress)
    with httpx.Client() as client:  # created outside the measurement: its SSL context is not the fetch
        tracemalloc.start()
        try:
            result = fetch(server.url(f"/{name}"), None, policy, dest_dir=dest, client=client)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.size >= 50 * 1024 * 1024 and result.new_state.content_digest == expected_digest
    assert peak < 20 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    print(
        f"{name}: {result.size / 1e6:.0f} MB body, {result.bytes_read / 1e6:.1f} MB read, peak {peak / 1e6:.2f} MB"
    )
