"""The dispatcher: detection, hints, and properties that hold for every type.

Properties: canonicalization is idempotent; a canonical value is detected as its own type; and
refanging any defanged spelling of a value gives back its canonical form.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators import Canonical, IndicatorType, canonicalize, canonicalize_any, detect_type, refang
from iocfeed.indicators.vulns import TACTICS, _techniques

T = IndicatorType

# --- Detection ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("203.0.113.7", Canonical(T.IPV4, "203.0.113.7")),
        ("203[.]0[.]113[.]7", Canonical(T.IPV4, "203.0.113.7")),
        ("203.000.113.007", Canonical(T.IPV4, "203.0.113.7")),
        ("2001:DB8:0:0:0:0:0:1", Canonical(T.IPV6, "2001:db8::1")),
        ("[2001:db8::1]", Canonical(T.IPV6, "2001:db8::1")),
        ("fe80::1%eth0", Canonical(T.IPV6, "fe80::1")),
        ("::ffff:1.2.3.4", Canonical(T.IPV6, "::ffff:1.2.3.4")),
        ("Evil[.]COM", Canonical(T.DOMAIN, "evil.com")),
        ("bücher.de", Canonical(T.DOMAIN, "xn--bcher-kva.de")),
        ("c2_node.evil.com", Canonical(T.DOMAIN, "c2_node.evil.com")),
        ("readme.md", Canonical(T.DOMAIN, "readme.md")),
        ("hxxp://evil[.]com/a.php#x", Canonical(T.URL, "http://evil.com/a.php")),
        ("evil.com/a.php", Canonical(T.URL, "http://evil.com/a.php")),
        ("evil.com/", Canonical(T.URL, "http://evil.com/")),
        ("1.2.3.4/bins.sh", Canonical(T.URL, "http://1.2.3.4/bins.sh")),
        ("http://user@evil.com/", Canonical(T.URL, "http://user@evil.com/")),
        ("ops[@]Evil[.]com", Canonical(T.EMAIL, "ops@evil.com")),
        ("D41D8CD98F00B204E9800998ECF8427E", Canonical(T.MD5, "d41d8cd98f00b204e9800998ecf8427e")),
        (
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            Canonical(T.SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ),
        ("ab" * 32, Canonical(T.SHA256, "ab" * 32)),
        ("AB" * 64, Canonical(T.SHA512, "ab" * 64)),
        ("cve-2021-44228", Canonical(T.CVE, "CVE-2021-44228")),
        ("t1059.001", Canonical(T.MITRE_ATTACK, "T1059.001")),
        ("TA0011", Canonical(T.MITRE_ATTACK, "TA0011")),
        ('"evil.com",', Canonical(T.DOMAIN, "evil.com")),
    ],
)
def test_detection(raw: str, expected: Canonical) -> None:
    assert canonicalize_any(raw) == expected
    assert detect_type(raw) == expected.type


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("hello", "not an indicator of any type"),
        ("hello world.com", "not an indicator of any type"),
        ("invoice.pdf", "no known public suffix"),
        ("localhost", "not an indicator of any type"),
        ("1.2.3.4:443", "host and a port"),
        ("evil.com:8080", "host and a port"),
        ("1.2.3.0/24", "network range"),
        ("2001:db8::/32", "network range"),
        ("256.1.1.1", "above 255"),
        ("deadbeef", "not an indicator of any type"),  # hex of no hash length
        ("T9999", "not a known MITRE ATT&CK technique"),
        ("CVE-1990-0001", "start in 1999"),
        ("gopher://evil.com/", "scheme 'gopher'"),
    ],
)
def test_detection_rejects(raw: str, reason: str) -> None:
    with pytest.raises(InvalidIndicator, match=reason):
        canonicalize_any(raw)
    with pytest.raises(InvalidIndicator, match=reason):
        detect_type(raw)


# --- Hints --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "hint", "expected"),
    [
        ("203.0.113.7", T.IPV4, Canonical(T.IPV4, "203.0.113.7")),
        ("2001:db8::1", T.IPV4, Canonical(T.IPV6, "2001:db8::1")),  # feeds say "ip" for both
        ("203.0.113.7", T.IPV6, Canonical(T.IPV4, "203.0.113.7")),
        ("[2001:DB8::1]", T.IPV6, Canonical(T.IPV6, "2001:db8::1")),
        ("evil.com", T.URL, Canonical(T.URL, "http://evil.com/")),
        ("evil[.]com", T.DOMAIN, Canonical(T.DOMAIN, "evil.com")),
        ("AB" * 16, T.MD5, Canonical(T.MD5, "ab" * 16)),
        (" AB" + "cd" * 30 + "ef ", T.SHA256, Canonical(T.SHA256, "ab" + "cd" * 30 + "ef")),
    ],
)
def test_hints(raw: str, hint: IndicatorType, expected: Canonical) -> None:
    assert canonicalize_any(raw, hint) == expected


@pytest.mark.parametrize(
    ("raw", "hint", "reason"),
    [
        ("ab" * 32, T.MD5, "has 32 hex digits; this value has 64"),  # never silently retyped
        ("ab" * 16, T.SHA256, "has 64 hex digits; this value has 32"),
        ("evil.com", T.IPV4, "not an IPv4 address"),  # the hinted family's reason
        ("evil.com", T.IPV6, "not an IPv6 address"),
        ("203.0.113.7", T.DOMAIN, "IP address, not a domain"),
        ("http://evil.com/", T.DOMAIN, "not allowed in a host name"),
        ("1.2.3.0/24", T.IPV6, "network range"),
        ("http://localhost/", T.URL, "invalid host"),
        ("evil.com", T.CVE, "not a CVE id"),
    ],
)
def test_hint_rejects(raw: str, hint: IndicatorType, reason: str) -> None:
    with pytest.raises(InvalidIndicator, match=reason):
        canonicalize_any(raw, hint)


def test_canonicalize_refangs_first() -> None:
    assert canonicalize(T.URL, "hxxps[://]evil[.]com:443/a b#x") == "https://evil.com/a%20b"
    assert canonicalize(T.IPV4, "1[.]2[.]3[.]4") == "1.2.3.4"
    assert canonicalize(T.EMAIL, "ops(at)evil(dot)com") == "ops@evil.com"
    assert canonicalize(T.SHA1, " DA39A3EE5E6B4B0D3255BFEF95601890AFD80709 ") == (
        "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    )


def test_url_fragment_exposing_trailing_punctuation_is_still_idempotent() -> None:
    once = canonicalize(T.URL, "http://evil.com/x.#top")
    assert once == "http://evil.com/x"
    assert canonicalize(T.URL, once) == once


def test_canonical_is_a_hashable_tuple() -> None:
    record = canonicalize_any("evil.com")
    assert record.type == "domain"
    assert record.value == "evil.com"
    assert {record: 1}[Canonical(T.DOMAIN, "evil.com")] == 1
    assert tuple(record) == (T.DOMAIN, "evil.com")


# --- Properties ---------------------------------------------------------------------------------

_LABEL_CHARS = string.ascii_letters + string.digits + "-_" + "äöüßéñжя"
_labels = st.text(alphabet=_LABEL_CHARS, min_size=1, max_size=12)
_suffixes = st.sampled_from(
    ["com", "net", "de", "co.uk", "ru", "рф", "xn--p1ai", "md", "onion", "duckdns.org"]
)


@st.composite
def domains(draw: st.DrawFn) -> str:
    labels = draw(st.lists(_labels, min_size=1, max_size=3))
    return ".".join([*labels, draw(_suffixes)]) + draw(st.sampled_from(["", "."]))


def _hex(length: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789abcdefABCDEF", min_size=length, max_size=length)


ipv4s = st.ip_addresses(v=4).map(str) | st.ip_addresses(v=4).map(
    lambda a: ".".join(f"{int(o):03d}" for o in str(a).split("."))
)
ipv6s = st.ip_addresses(v=6).flatmap(
    lambda a: st.sampled_from([a.compressed, a.exploded.upper(), f"[{a}]", f"{a}%eth0"])
)
_path_chars = string.ascii_letters + string.digits + "/._-~%=&?;:+!*'(),[]{} ü日"
urls = st.builds(
    lambda scheme, host, port, path, fragment: f"{scheme}://{host}{port}/{path}{fragment}",
    st.sampled_from(["http", "HTTPS", "ftp", "Ws", "wss", "hxxp", "fxp"]),
    domains() | ipv4s | st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
    st.sampled_from(["", ":80", ":443", ":21", ":8080", ":"]),
    st.text(alphabet=_path_chars, max_size=30),
    st.sampled_from(["", "#", "#frag", "#a.b."]),
)
emails = st.builds(
    lambda local, domain: f"{local}@{domain}",
    st.text(alphabet=string.ascii_letters + string.digits + ".+_-", min_size=1, max_size=20),
    domains(),
)
cves = st.builds(
    lambda sep, year, number: f"cve{sep}{year}{sep}{number:04d}",
    st.sampled_from(["-", "_", " ", "–"]),
    st.integers(1999, 2030),
    st.integers(1, 9_999_999),
)
attack_ids = st.sampled_from(sorted([*_techniques(), *TACTICS])).flatmap(
    lambda i: st.sampled_from([i, i.lower(), i.replace(".", "/")])
)

VALUES: dict[IndicatorType, st.SearchStrategy[str]] = {
    T.IPV4: ipv4s,
    T.IPV6: ipv6s,
    T.DOMAIN: domains(),
    T.URL: urls,
    T.EMAIL: emails,
    T.MD5: _hex(32),
    T.SHA1: _hex(40),
    T.SHA256: _hex(64),
    T.SHA512: _hex(128),
    T.CVE: cves,
    T.MITRE_ATTACK: attack_ids,
}

typed_values = st.sampled_from(list(VALUES)).flatmap(lambda t: st.tuples(st.just(t), VALUES[t]))


def _canonical_or_skip(type_: IndicatorType, raw: str) -> str:
    try:
        return canonicalize(type_, raw)
    except InvalidIndicator:
        assume(False)
        raise  # unreachable: assume(False) stops the example


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(typed_values)
def test_canonicalization_is_idempotent_and_detectable(typed: tuple[IndicatorType, str]) -> None:
    type_, raw = typed
    once = _canonical_or_skip(type_, raw)
    assert canonicalize(type_, once) == once
    assert canonicalize_any(once, type_) == Canonical(type_, once)
    # A canonical value is recognized as its own type without a hint.
    assert canonicalize_any(once) == Canonical(type_, once)


def defang(value: str, style: int) -> str:
    """One analyst's way of making `value` unclickable."""
    dot = ["[.]", "(.)", "{.}", "[dot]", "(dot)", "{dot}", " [.] ", "\\."][style % 8]
    at = ["[@]", "(at)", "[at]", "{at}"][style % 4]
    scheme_sep = ["://", "[://]", "[:]//"][style % 3]
    if style % 2 and value.startswith(("http://", "https://")):
        value = "hxxp" + value[4:]
    elif value.startswith("ftp://"):
        value = "fxp" + value[3:]
    value = value.replace("://", "\0").replace(".", dot).replace("@", at).replace("\0", scheme_sep)
    wrappers = ["{}", "[{}]", '"{}"', "<{}>", "{},", "\u200b{}\ufeff", "'{}'."]
    return wrappers[style % 7].format(value)


# Paths without characters that refang gives a meaning to, so only the defang is undone.
_plain_urls = st.builds(
    lambda scheme, host, path: f"{scheme}://{host}/{path}",
    st.sampled_from(["http", "https", "ftp"]),
    domains() | ipv4s,
    st.text(alphabet=string.ascii_letters + string.digits + "/._-~%=&?+", max_size=20).map(
        lambda p: p.rstrip(".?")
    ),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    st.one_of(
        st.tuples(st.just(T.IPV4), ipv4s),
        st.tuples(st.just(T.DOMAIN), domains()),
        st.tuples(st.just(T.URL), _plain_urls),
        st.tuples(st.just(T.EMAIL), emails),
    ),
    st.integers(0, 1000),
)
def test_refang_of_defanged_gives_the_canonical_value(typed: tuple[IndicatorType, str], style: int) -> None:
    type_, raw = typed
    expected = _canonical_or_skip(type_, raw)
    defanged = defang(expected, style)
    assert canonicalize(type_, defanged) == expected
    assert canonicalize_any(refang(defanged)) == Canonical(type_, expected)
