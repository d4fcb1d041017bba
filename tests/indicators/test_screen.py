"""Screening against warning lists and the operator allow-list: what is marked, what is not, and why."""

from __future__ import annotations

import dataclasses
import random
import time

import pytest

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators import ipranges
from iocfeed.indicators import screen as screen_module
from iocfeed.indicators.ipranges import BlockSet, RangeIndex
from iocfeed.indicators.screen import Screener, ScreenHit
from iocfeed.indicators.screen_index import compile_lists
from iocfeed.indicators.screen_lists import CATALOG, DEFAULT_LIST_IDS

EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


@pytest.fixture(scope="module")
def screener() -> Screener:
    return Screener.default()


def hit_of(screener: Screener, type_: str, value: str) -> ScreenHit:
    hit = screener.screen(type_, value)
    assert hit is not None, f"{type_} {value} was not screened"
    return hit


# --- the four the issue names -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "value", "list_id", "list_name", "matched"),
    [
        ("ipv4", "8.8.8.8", "misp:public-dns-v4", "List of known IPv4 public DNS resolvers", "8.8.8.8"),
        ("ipv4", "10.0.0.1", "misp:rfc1918", "List of RFC 1918 CIDR blocks", "10.0.0.0/8"),
        ("domain", "google.com", "misp:tranco10k", "Top 10K most-used sites from Tranco", "google.com"),
        ("md5", EMPTY_MD5, "misp:empty-hashes", "List of known hashes for empty files", EMPTY_MD5),
    ],
)
def test_issue_examples_are_screened_with_their_list(
    screener: Screener, type_: str, value: str, list_id: str, list_name: str, matched: str
) -> None:
    hit = hit_of(screener, type_, value)
    assert (hit.list_id, hit.list_name, hit.matched) == (list_id, list_name, matched)
    assert hit.reason.startswith(value)
    assert list_name in hit.reason
    assert hit.reason.endswith(".")


# --- addresses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "value", "list_id", "matched"),
    [
        ("ipv4", "100.64.0.1", "misp:rfc6598", "100.64.0.0/10"),
        ("ipv4", "192.0.2.1", "misp:rfc5735", "192.0.2.0/24"),
        ("ipv4", "127.0.0.1", "misp:rfc5735", "127.0.0.0/8"),
        ("ipv4", "169.254.169.254", "misp:rfc5735", "169.254.0.0/16"),
        ("ipv4", "240.0.0.1", "misp:rfc5735", "240.0.0.0/4"),
        ("ipv4", "224.0.0.251", "misp:multicast", "224.0.0.0/8"),
        ("ipv4", "104.16.1.1", "misp:cloudflare", "104.16.0.0/13"),
        ("ipv6", "2001:4860:4860::8888", "misp:public-dns-v6", "2001:4860:4860::8888"),
        ("ipv6", "fe80::1", "misp:ipv6-linklocal", "fe80::/10"),
        ("ipv6", "fd12:3456::1", "iocfeed:ipv6-special-use", "fc00::/7"),
        ("ipv6", "2001:db8::1", "misp:rfc3849", "2001:db8::/32"),
        ("ipv6", "3fff::1", "iocfeed:ipv6-special-use", "3fff::/20"),
        ("ipv6", "::1", "iocfeed:ipv6-special-use", "::1"),
        ("ipv6", "ff02::1", "iocfeed:ipv6-special-use", "ff00::/8"),
        ("ipv6", "4000::1", "iocfeed:ipv6-non-global", "4000::/2"),
        ("ipv6", "2606:4700::1111", "misp:cloudflare", "2606:4700::/32"),
    ],
)
def test_special_and_shared_addresses_are_screened(
    screener: Screener, type_: str, value: str, list_id: str, matched: str
) -> None:
    hit = hit_of(screener, type_, value)
    assert (hit.list_id, hit.matched) == (list_id, matched)


def test_builtin_block_says_what_it_is(screener: Screener) -> None:
    assert "unique local addresses, RFC 4193" in hit_of(screener, "ipv6", "fd00::1").reason


@pytest.mark.parametrize(
    ("value", "list_id", "inner"),
    [("::ffff:10.0.0.1", "misp:rfc1918", "10.0.0.1"), ("64:ff9b::808:808", "misp:public-dns-v4", "8.8.8.8")],
)
def test_ipv6_carrying_ipv4_is_screened_as_that_ipv4(
    screener: Screener, value: str, list_id: str, inner: str
) -> None:
    hit = hit_of(screener, "ipv6", value)
    assert hit.list_id == list_id
    assert f"IPv4 address {inner} inside {value}" in hit.reason


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        ("ipv4", "45.33.1.1"),  # a Linode VPS: cloud tenants are not screened
        ("ipv4", "52.0.0.1"),  # AWS
        ("ipv4", "185.220.101.1"),
        ("ipv6", "2a01:4f8:c17:1::1"),  # Hetzner
        ("ipv6", "::ffff:45.33.1.1"),
    ],
)
def test_public_addresses_are_not_screened(screener: Screener, type_: str, value: str) -> None:
    assert screener.screen(type_, value) is None


# --- domains ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "list_id", "matched"),
    [
        ("mail.google.com", "misp:tranco10k", "google.com"),  # a top site's own subdomain
        ("www.google.com", "misp:tranco10k", "google.com"),
        ("github.io", "misp:tranco10k", "github.io"),  # the platform itself is screened...
        ("raw.githubusercontent.com", "misp:cisco_top10k", "raw.githubusercontent.com"),
        ("x.example.com", "misp:rfc6761", "example.com"),
        ("1.168.192.in-addr.arpa", "misp:rfc6761", "168.192.in-addr.arpa"),
        ("router.home.arpa", "iocfeed:arpa", "arpa"),
    ],
)
def test_domains_screened(screener: Screener, value: str, list_id: str, matched: str) -> None:
    hit = hit_of(screener, "domain", value)
    assert (hit.list_id, hit.matched) == (list_id, matched)


@pytest.mark.parametrize(
    "value",
    [
        "paypal-login-secure-verify.com",
        "evil-login-google.com",
        "x.github.io",  # ...but not a user's site on it (Public Suffix List, private section)
        "bucket.s3.amazonaws.com",
        "a.b.duckdns.org",  # dynamic DNS
        "victim.sharepoint.com",  # a tenant: USER_SUBDOMAIN_PLATFORMS
        "attacker.weebly.com",
    ],
)
def test_malicious_looking_and_user_controlled_domains_not_screened(screener: Screener, value: str) -> None:
    assert screener.screen("domain", value) is None


# --- URLs and e-mail ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://docs.google.com/forms/d/e/1FAIpQLSd/viewform",  # phishing on a top site is real
        "https://www.google.com/url?q=https://evil.com/",
        "https://8.8.8.8/dns-query",
        "http://google.com@evil.com/",  # the host is evil.com
        "https://x.github.io/",
    ],
)
def test_urls_not_screened_for_their_hosts_rank(screener: Screener, url: str) -> None:
    assert screener.screen("url", url) is None


@pytest.mark.parametrize(
    ("url", "list_id", "matched"),
    [
        ("http://192.168.1.1/login.cgi", "misp:rfc1918", "192.168.0.0/16"),
        ("http://[fe80::1]:8080/x", "misp:ipv6-linklocal", "fe80::/10"),
        ("http://example.com/payload.exe", "misp:rfc6761", "example.com"),
        ("https://www.google.com/", "misp:tranco10k", "google.com"),  # the site root is the site
        ("https://8.8.8.8/", "misp:public-dns-v4", "8.8.8.8"),
    ],
)
def test_urls_screened_on_non_routable_hosts_or_site_roots(
    screener: Screener, url: str, list_id: str, matched: str
) -> None:
    hit = hit_of(screener, "url", url)
    assert (hit.list_id, hit.matched) == (list_id, matched)
    assert hit.reason.startswith("The host ")


def test_email_screened_only_on_documentation_domains(screener: Screener) -> None:
    assert hit_of(screener, "email", "bob@example.com").list_id == "misp:rfc6761"
    assert screener.screen("email", "attacker@gmail.com") is None  # freemail is where attackers sign up
    assert screener.screen("email", "billing@mail.google.com") is None


# --- hashes, and types never screened -----------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "value", "list_id"),
    [
        ("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", "misp:empty-hashes"),
        ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "misp:empty-hashes"),
        ("sha512", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e", "misp:empty-hashes"),
        ("md5", "44d88612fea8a8f36de82e1278abb02f", "misp:eicar.com"),
    ],
)  # fmt: skip
def test_known_hashes_screened(screener: Screener, type_: str, value: str, list_id: str) -> None:
    assert hit_of(screener, type_, value).list_id == list_id


def test_unknown_hash_not_screened(screener: Screener) -> None:
    assert screener.screen("md5", "0" * 31 + "1") is None


def test_a_hash_miss_is_one_lookup(screener: Screener, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hashes are a third of many feeds: a miss must not build a subject or walk the lists (the
    hits and the allow-list still go the whole way, as the tests around this one show)."""

    def no_subject(type_: str, value: str) -> None:
        raise AssertionError(f"a subject was built for {type_} {value}")

    monkeypatch.setattr(screen_module, "_subject", no_subject)
    rng = random.Random(3)
    for type_, bits in (("md5", 128), ("sha1", 160), ("sha256", 256), ("sha512", 512)):
        assert screener.screen(type_, f"{rng.getrandbits(bits):0{bits // 4}x}") is None
    with pytest.raises(AssertionError, match="a subject was built"):  # a hit does go on
        screener.screen("md5", "44d88612fea8a8f36de82e1278abb02f")


@pytest.mark.parametrize(("type_", "value"), [("cve", "CVE-2021-44228"), ("mitre-attack", "T1059.001")])
def test_cve_and_attack_never_screened(screener: Screener, type_: str, value: str) -> None:
    assert screener.screen(type_, value) is None
    explanation = screener.explain(type_, value)
    assert explanation.hit is None
    assert explanation.checks == ()
    assert "never screened" in explanation.decision


def test_unknown_type_and_bad_address_are_invalid(screener: Screener) -> None:
    with pytest.raises(InvalidIndicator, match="not an indicator type"):
        screener.screen("ip-range", "10.0.0.0/8")
    with pytest.raises(InvalidIndicator, match="not an ipv4 address"):
        screener.screen("ipv4", "10.0.0.0/8")


# --- the operator allow-list --------------------------------------------------------------------

ALLOW_LINES = [
    "# our own infrastructure",
    "",
    "81[.]2[.]69[.]160          # defanged single address",
    "45.33.0.0/17",
    "2a01:4f8::/32",
    "*.corp-example.com",
    ".other-example.org",
    "hxxps://portal[.]partner-example[.]net/login",
    "partner-example.net",
    "8.8.8.8",
    "0f343b0931126a20f133d67c2b018a3b",
    "alerts@partner-example.net",
    "cafe.de/12",  # hex-looking, but a URL without its scheme, not a range
]


@pytest.fixture(scope="module")
def allowing() -> Screener:
    return Screener.default(ALLOW_LINES)


@pytest.mark.parametrize(
    ("type_", "value", "matched"),
    [
        ("ipv4", "81.2.69.160", "81.2.69.160"),
        ("ipv4", "45.33.1.1", "45.33.0.0/17"),
        ("ipv6", "2a01:4f8:c17:1::1", "2a01:4f8::/32"),
        ("domain", "corp-example.com", "*.corp-example.com"),  # the wildcard covers the name itself
        ("domain", "vpn.eu.corp-example.com", "*.corp-example.com"),
        ("domain", "www.other-example.org", "*.other-example.org"),
        ("domain", "partner-example.net", "partner-example.net"),
        ("url", "https://portal.partner-example.net/login", "https://portal.partner-example.net/login"),
        ("url", "https://partner-example.net/any/path", "partner-example.net"),  # the host is theirs
        ("url", "http://45.33.1.1/x", "45.33.0.0/17"),
        ("email", "alerts@partner-example.net", "alerts@partner-example.net"),
        ("email", "someone@corp-example.com", "*.corp-example.com"),
        ("md5", "0f343b0931126a20f133d67c2b018a3b", "0f343b0931126a20f133d67c2b018a3b"),
        ("ipv4", "8.8.8.8", "8.8.8.8"),  # the allow-list wins over every warning list
        ("url", "http://cafe.de/12", "http://cafe.de/12"),
    ],
)
def test_allow_list_forms(allowing: Screener, type_: str, value: str, matched: str) -> None:
    hit = hit_of(allowing, type_, value)
    assert (hit.list_id, hit.list_name, hit.matched) == ("allowlist", "operator allow-list", matched)
    assert "(line " in hit.reason


def test_allow_list_covers_only_what_it_says(allowing: Screener) -> None:
    assert allowing.screen("domain", "partner-example.net.evil.com") is None
    assert allowing.screen("domain", "www.partner-example.net") is None  # exact entry, no wildcard
    assert allowing.screen("domain", "notcorp-example.com") is None
    assert allowing.screen("url", "https://portal.partner-example.net/other") is None
    assert allowing.screen("ipv4", "45.33.128.1") is None


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["10.0.0.0/8", "# fine", "not a value at all"], "allow-list line 3: "),
        (["10.0.0.1/8"], r"allow-list line 1: .*host bits set; the network is 10\.0\.0\.0/8"),
        (["", "CVE-2021-44228"], "allow-list line 2: CVE-2021-44228 .* never screened"),
        (["T1059"], "allow-list line 1: .* never screened"),
        (["*.com"], "allow-list line 1: .*public suffix"),
        (["10.0.0.0/33"], "allow-list line 1: .*prefix length"),
        (["evil.notatld"], "allow-list line 1: .*public suffix"),
    ],
)
def test_bad_allow_list_line_names_its_number(lines: list[str], message: str) -> None:
    with pytest.raises(InvalidIndicator, match=message):
        Screener.default(lines)


# --- explain ------------------------------------------------------------------------------------


def test_explain_lists_every_applicable_list(screener: Screener) -> None:
    explanation = screener.explain("ipv4", "10.1.2.3")
    by_id = {check.list_id: check for check in explanation.checks}
    assert by_id["misp:rfc1918"].matched == "10.0.0.0/8"
    assert by_id["misp:rfc5735"].matched == "10.0.0.0/8"  # also matched, but not decisive
    assert by_id["misp:public-dns-v4"].matched is None
    assert "misp:tranco10k" not in by_id  # domain lists do not apply to an address
    assert "allowlist" not in by_id  # no allow-list configured
    assert explanation.hit == screener.screen("ipv4", "10.1.2.3")
    assert explanation.decision.startswith("Screened: stored as false-positive with list 'List of RFC 1918")
    text = explanation.as_text()
    assert text.splitlines()[0] == "10.1.2.3 (ipv4): screened"
    assert "HIT misp:rfc1918" in text


def test_explain_url_says_why_rank_was_not_used(screener: Screener) -> None:
    explanation = screener.explain("url", "https://docs.google.com/forms/d/x")
    assert explanation.hit is None
    assert {check.list_id for check in explanation.checks} == {"misp:rfc6761", "iocfeed:arpa"}
    assert all(check.subject == "docs.google.com" for check in explanation.checks)
    assert "site's root URL" in explanation.decision
    assert "not screened" in explanation.as_text()


def test_explain_includes_allow_list_first(allowing: Screener) -> None:
    explanation = allowing.explain("ipv4", "8.8.8.8")
    assert explanation.checks[0].list_id == "allowlist"
    assert explanation.hit is not None and explanation.hit.list_id == "allowlist"
    assert any(c.list_id == "misp:public-dns-v4" and c.matched == "8.8.8.8" for c in explanation.checks)


# --- the lists and the lookup structures --------------------------------------------------------


def test_every_catalog_list_loads_with_a_name_and_entries(screener: Screener) -> None:
    assert [warning_list.list_id for warning_list in screener.lists] == [spec.list_id for spec in CATALOG]
    for warning_list in screener.lists:
        assert warning_list.name, warning_list.list_id
        assert warning_list.size > 0, warning_list.list_id


def test_lists_are_built_once_per_process() -> None:
    first, second = Screener.default(), Screener.default(["10.0.0.0/8"])
    assert first._lists is second._lists
    assert compile_lists(DEFAULT_LIST_IDS) is first._lists


def test_a_subset_of_lists_can_be_chosen() -> None:
    only_private = Screener.default(lists=["misp:rfc1918"])
    assert only_private.screen("ipv4", "10.0.0.1") is not None
    assert only_private.screen("ipv4", "8.8.8.8") is None
    with pytest.raises(ValueError, match="unknown warning lists: misp:nope"):
        Screener.default(lists=["misp:nope"])


def test_hit_is_frozen(screener: Screener) -> None:
    hit = hit_of(screener, "ipv4", "8.8.8.8")
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.list_id = "other"  # type: ignore[misc]
    assert not hasattr(hit, "__dict__")  # slotted


def test_address_lookup_is_one_bisect_not_a_scan(screener: Screener, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real_bisect = ipranges.bisect_right

    def counting_bisect(bounds: list[int], address: int) -> int:
        nonlocal calls
        calls += 1
        return real_bisect(bounds, address)

    rng = random.Random(7)
    addresses = [
        f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        for _ in range(1000)
    ]
    misses = [address for address in addresses if screener.screen("ipv4", address) is None]
    monkeypatch.setattr(ipranges, "bisect_right", counting_bisect)
    for address in misses:
        screener.screen("ipv4", address)
    # One bisect per address, whatever the number of lists (27) and ranges (~60,000).
    assert calls == len(misses) > 900


def test_100k_public_addresses_screen_quickly(screener: Screener) -> None:
    rng = random.Random(11)
    addresses = [
        f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        for _ in range(100_000)
    ]
    started = time.perf_counter()
    for address in addresses:
        screener.screen("ipv4", address)
    # Typically ~0.1 s; the bound only catches a per-lookup scan (which takes minutes), not noise.
    assert time.perf_counter() - started < 5


# --- the index structures on their own ----------------------------------------------------------


def test_range_index_handles_nesting_overlap_adjacency_and_points() -> None:
    index = RangeIndex([(10, 19, 2), (15, 30, 1), (20, 29, 3), (12, 12, 0)], points=[(5, [15, 100])])
    assert index.keys_at(9) == ()
    assert index.keys_at(10) == (2,)
    assert index.keys_at(12) == (0, 2)
    assert index.keys_at(15) == (1, 2, 5)
    assert index.keys_at(20) == (1, 3)  # 2 ended at 19, 3 starts at 20: adjacent, not overlapping
    assert index.keys_at(30) == (1,)
    assert index.keys_at(31) == ()
    assert index.keys_at(100) == (5,)


def test_block_set_reports_the_widest_block() -> None:
    blocks = BlockSet(32, [(0x0A000000, 0x0AFFFFFF), (0x0A010000, 0x0A01FFFF), (0xC0A80000, 0xC0A8FFFF)])
    assert len(blocks) == 2
    assert blocks.find(0x0A010203) == "10.0.0.0/8"
    assert blocks.find(0xC0A80101) == "192.168.0.0/16"
    assert blocks.find(0x08080808) is None
