"""Canonical forms of IPv4, IPv6, domains, URLs and e-mail addresses, and the reasons for rejects."""

from __future__ import annotations

import pytest

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.network import (
    canonicalize_domain,
    canonicalize_email,
    canonicalize_ipv4,
    canonicalize_ipv6,
    canonicalize_url,
)

# --- IPv4 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7\n", "203.0.113.7"),
        ("203.000.113.007", "203.0.113.7"),  # zero padding read as decimal, not octal
        ("010.001.002.003", "10.1.2.3"),
        ("0.0.0.0", "0.0.0.0"),  # noqa: S104 - a value, not a bind address
        ("255.255.255.255", "255.255.255.255"),
        ("198.51.100.1/32", "198.51.100.1"),
    ],
)
def test_ipv4_canonical(raw: str, expected: str) -> None:
    assert canonicalize_ipv4(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("256.1.1.1", "above 255"),
        ("1.2.3.0/24", "network range"),
        ("1.2.3.4:8080", "has a port"),
        ("1.2.3", "not an IPv4 address"),
        ("1.2.3.4.5", "not an IPv4 address"),
        ("evil.com", "not an IPv4 address"),
        ("١.٢.٣.٤", "not an IPv4 address"),  # Arabic-Indic digits are not ASCII digits
        ("", "not an IPv4 address"),
    ],
)
def test_ipv4_rejects(raw: str, reason: str) -> None:
    with pytest.raises(InvalidIndicator, match=reason):
        canonicalize_ipv4(raw)


# --- IPv6 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("[fe80::1%25eth0]", "fe80::1"),
        ("2001:db8::1/128", "2001:db8::1"),
        ("::1", "::1"),
        ("::", "::"),
        # IPv4-mapped: stays IPv6, written in RFC 5952 section 5 form on every Python version.
        ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
        ("::FFFF:0102:0304", "::ffff:1.2.3.4"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),  # NAT64 is not IPv4-mapped
    ],
)
def test_ipv6_canonical(raw: str, expected: str) -> None:
    assert canonicalize_ipv6(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("1.2.3.4", "IPv4 address, not IPv6"),
        ("2001:db8::/32", "network range"),
        ("2001:db8::g", "not an IPv6 address"),
        ("2001:db8:::1", "not an IPv6 address"),
        ("１::", "non-ASCII"),
    ],
)
def test_ipv6_rejects(raw: str, reason: str) -> None:
    with pytest.raises(InvalidIndicator, match=reason):
        canonicalize_ipv6(raw)


# --- Domains ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Evil.COM", "evil.com"),
        ("evil.com.", "evil.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("BÜCHER.DE", "xn--bcher-kva.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("XN--BCHER-KVA.DE", "xn--bcher-kva.de"),
        ("пример.рф", "xn--e1afmkfd.xn--p1ai"),
        ("faß.de", "xn--fa-hia.de"),  # IDNA 2008: ß is kept, not mapped to ss
        ("☃.com", "xn--n3h.com"),  # IDNA 2008 refuses symbols; IDNA 2003 fallback encodes them
        ("evil。com", "evil.com"),  # ideographic full stop separates labels too
        ("c2_node.evil.com", "c2_node.evil.com"),  # malware hostnames use underscores
        ("_dmarc.evil.com", "_dmarc.evil.com"),
        ("xyz-.blogspot.com", "xyz-.blogspot.com"),  # resolvers accept edge hyphens
        ("readme.md", "readme.md"),  # .md is Moldova; filtering file names is the extractor's job
        ("evil.co.uk", "evil.co.uk"),
        ("a.b.c.evil.co.uk", "a.b.c.evil.co.uk"),
        ("evil.duckdns.org", "evil.duckdns.org"),
        ("duckdns.org", "duckdns.org"),  # a private-section suffix is still a registrable domain
        ("abcdefghij.onion", "abcdefghij.onion"),
        ("x.chtr.k12.ma.us", "x.chtr.k12.ma.us"),  # the deepest ICANN rule
        ("a" * 63 + ".com", "a" * 63 + ".com"),
    ],
)
def test_domain_canonical(raw: str, expected: str) -> None:
    assert canonicalize_domain(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("invoice.pdf", "no known public suffix"),
        ("setup.exe", "no known public suffix"),
        ("host.local", "no known public suffix"),
        ("localhost", "single label"),
        ("com", "single label"),
        ("co.uk", "itself a public suffix"),
        ("chtr.k12.ma.us", "itself a public suffix"),
        ("1.2.3.4", "IP address, not a domain"),
        ("evil.123", "numeric label"),
        ("evil..com", "empty label"),
        (".evil.com", "empty label"),
        ("", "empty"),
        ("evil com.org", "not allowed in a host name"),
        ("evil!.com", "not allowed in a host name"),
        ("*.evil.com", "not allowed in a host name"),
        ("a" * 64 + ".com", "longer than 63"),
        (".".join(["a" * 60] * 5) + ".com", "longer than the 253"),
        ("xn--9.com", "not valid punycode"),
    ],
)
def test_domain_rejects(raw: str, reason: str) -> None:
    with pytest.raises(InvalidIndicator, match=reason):
        canonicalize_domain(raw)


# --- URLs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTP://EVIL.COM/Path/File.PHP", "http://evil.com/Path/File.PHP"),
        ("http://evil.com:80/a", "http://evil.com/a"),
        ("https://evil.com:443/a", "https://evil.com/a"),
        ("ftp://evil.com:21/a", "ftp://evil.com/a"),
        ("wss://evil.com:443/a", "wss://evil.com/a"),
        ("http://evil.com:443/a", "http://evil.com:443/a"),
        ("https://evil.com:8443/a", "https://evil.com:8443/a"),
        ("http://evil.com:08080/a", "http://evil.com:8080/a"),
        ("http://evil.com:/a", "http://evil.com/a"),
        ("http://evil.com/a#section", "http://evil.com/a"),
        ("http://evil.com/a?x=1#frag", "http://evil.com/a?x=1"),
        ("http://evil.com", "http://evil.com/"),
        ("http://evil.com?x=1", "http://evil.com/?x=1"),
        ("http://evil.com/a?", "http://evil.com/a?"),
        ("http://evil.com/a%2Fb?q=%7e", "http://evil.com/a%2Fb?q=%7e"),  # escapes kept as they are
        ("http://evil.com/a b", "http://evil.com/a%20b"),
        ("http://evil.com/ünï?q=日本", "http://evil.com/%C3%BCn%C3%AF?q=%E6%97%A5%E6%9C%AC"),
        ("http://evil.com/a\tb", "http://evil.com/a%09b"),
        ("http://evil.com/a//b/../c;p?x=1&x=2", "http://evil.com/a//b/../c;p?x=1&x=2"),
        ("http://User:Pass@Evil.com/a", "http://User:Pass@evil.com/a"),
        ("http://bücher.de/a", "http://xn--bcher-kva.de/a"),
        ("http://c2_node.evil.com/gate.php", "http://c2_node.evil.com/gate.php"),
        ("http://203.000.113.007:8080/bins/x86", "http://203.0.113.7:8080/bins/x86"),
        ("http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
        ("http://[2001:db8::1]:80/x", "http://[2001:db8::1]/x"),
        ("evil.com/a.php", "http://evil.com/a.php"),
        ("evil.com:8080/a.php", "http://evil.com:8080/a.php"),
        ("203.0.113.7/bins.sh", "http://203.0.113.7/bins.sh"),
        ("//evil.com/a", "http://evil.com/a"),
        ("evil.com", "http://evil.com/"),
        ("sftp://evil.com:22/x", "sftp://evil.com/x"),
    ],
)
def test_url_canonical(raw: str, expected: str) -> None:
    assert canonicalize_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("javascript://alert(1)", "scheme 'javascript'"),
        ("file://evil.com/x", "scheme 'file'"),
        ("http:///a", "no host"),
        ("http://evil.com:99999/", "invalid port"),
        ("http://evil.com:8o/", "invalid port"),
        ("http://2001:db8::1/x", "without the brackets"),
        ("http://[2001:db8::1/x", "malformed bracketed"),
        ("http://localhost/x", "invalid host: 'localhost' is a single label"),
        ("http://invoice.pdf/x", "invalid host: 'invoice.pdf' has no known public suffix"),
        ("http://[1.2.3.4]/x", "invalid host: '1.2.3.4' is an IPv4 address"),
        ("http://evil.com/\ud800", "cannot be encoded"),
    ],
)
def test_url_rejects(raw: str, reason: str) -> None:
    with pytest.raises(InvalidIndicator, match=reason.replace("[", r"\[").replace("(", r"\(")):
        canonicalize_url(raw)


# --- E-mail -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Billing.Dept@EVIL.com", "Billing.Dept@evil.com"),  # local part kept as is
        ("  ops@evil.com ", "ops@evil.com"),
        ("mailto:ops@evil.com", "ops@evil.com"),
        ("first+tag@bücher.de", "first+tag@xn--bcher-kva.de"),
        ('"john doe"@evil.com', '"john doe"@evil.com'),
        ("a@b@evil.com", "a@b@evil.com"),  # the last @ separates the domain
    ],
)
def test_email_canonical(raw: str, expected: str) -> None:
    assert canonicalize_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("evil.com", "has no '@'"),
        ("@evil.com", "empty local part"),
        ("a" * 65 + "@evil.com", "longer than 64"),
        ("john doe@evil.com", "spaces or characters"),
        ("ops@localhost", "invalid domain: 'localhost' is a single label"),
        ("ops@invoice.pdf", "invalid domain"),
    ],
)
def test_email_rejects(raw: str, reason: str) -> None:
    with pytest.raises(InvalidIndicator, match=reason):
        canonicalize_email(raw)
