"""extract(): one test per defang form, the type rules, dedup, offsets and sentences, HTML and Markdown."""

from __future__ import annotations

import json
import time

import pytest

from iocfeed.errors import InvalidParameter
from iocfeed.indicators.extract import Extracted, detect_content_type, extract, to_json_line
from iocfeed.indicators.types import IndicatorType

T = IndicatorType


def pairs(text: str, content_type: str | None = None) -> list[tuple[str, str]]:
    return [(item.type.value, item.value) for item in extract(text, content_type)]


# --- Defang forms: each one inside a sentence ---------------------------------------------------


@pytest.mark.parametrize(
    ("defanged", "expected"),
    [
        # Schemes
        ("hxxp://evil.com/a", ("url", "http://evil.com/a")),
        ("hxxps://evil.com/a", ("url", "https://evil.com/a")),
        ("HXXPS://evil.com/a", ("url", "https://evil.com/a")),
        ("hxxxp://evil.com/a", ("url", "http://evil.com/a")),
        ("h**p://evil.com/a", ("url", "http://evil.com/a")),
        ("h__ps://evil.com/a", ("url", "https://evil.com/a")),
        ("fxp://files.evil.com/a.bin", ("url", "ftp://files.evil.com/a.bin")),
        ("meow://evil.com/a", ("url", "http://evil.com/a")),
        # Dots
        ("evil[.]com", ("domain", "evil.com")),
        ("evil(.)com", ("domain", "evil.com")),
        ("evil{.}com", ("domain", "evil.com")),
        ("evil[dot]com", ("domain", "evil.com")),
        ("evil(dot)com", ("domain", "evil.com")),
        ("evil{DOT}com", ("domain", "evil.com")),
        ("evil dot com", ("domain", "evil.com")),
        ("evil [.] com", ("domain", "evil.com")),
        ("evil\\.com", ("domain", "evil.com")),
        ("evil[[.]]com", ("domain", "evil.com")),
        # Colons and scheme separators
        ("http[:]//evil.com/a", ("url", "http://evil.com/a")),
        ("hxxps[://]evil.com/a", ("url", "https://evil.com/a")),
        ("hxxp(://)evil.com/a", ("url", "http://evil.com/a")),
        ("hxxp://evil[.]com[:]8080/a", ("url", "http://evil.com:8080/a")),
        ("evil[.]com[/]gate.php", ("url", "http://evil.com/gate.php")),
        # At signs
        ("ops[@]evil.com", ("email", "ops@evil.com")),
        ("ops(@)evil.com", ("email", "ops@evil.com")),
        ("ops(at)evil(dot)com", ("email", "ops@evil.com")),
        ("ops[at]evil[.]com", ("email", "ops@evil.com")),
        ("ops {at} evil {dot} com", ("email", "ops@evil.com")),
        # IP addresses defanged in every octet, or in one
        ("1[.]2[.]3[.]4", ("ipv4", "1.2.3.4")),
        ("1(.)2(.)3(.)4", ("ipv4", "1.2.3.4")),
        ("1[dot]2[dot]3[dot]4", ("ipv4", "1.2.3.4")),
        ("1.2.3[.]4", ("ipv4", "1.2.3.4")),
        # Brackets, quotes and parentheses around whole values
        ("[1.2.3.4]", ("ipv4", "1.2.3.4")),
        ("[evil.com]", ("domain", "evil.com")),
        ("(evil.com)", ("domain", "evil.com")),
        ("<evil.com>", ("domain", "evil.com")),
        ('"evil.com"', ("domain", "evil.com")),
        ("'evil.com'", ("domain", "evil.com")),
        ("“evil.com”", ("domain", "evil.com")),
        ("[hxxp://evil.com/a]", ("url", "http://evil.com/a")),
        ("(hxxp://evil.com/a)", ("url", "http://evil.com/a")),
        ("<http://evil.com/a>", ("url", "http://evil.com/a")),
        # Trailing punctuation
        ("evil.com.", ("domain", "evil.com")),
        ("evil.com,", ("domain", "evil.com")),
        ("evil.com;", ("domain", "evil.com")),
        ("http://evil.com/a.php.", ("url", "http://evil.com/a.php")),
        ("http://evil.com/a?b=1,", ("url", "http://evil.com/a?b=1")),
        ("http://evil.com/a!", ("url", "http://evil.com/a")),
        # Zero-width characters and the soft hyphen
        ("ev\u200bil.com", ("domain", "evil.com")),
        ("ev\u200cil.com", ("domain", "evil.com")),
        ("ev\u200dil.com", ("domain", "evil.com")),
        ("ev\u2060il.com", ("domain", "evil.com")),
        ("\ufeffevil.com", ("domain", "evil.com")),
        ("ev\u00adil.com", ("domain", "evil.com")),
        ("1.2.\u200b3.4", ("ipv4", "1.2.3.4")),
        # Markdown escapes and emphasis
        ("evil\\[.\\]com", ("domain", "evil.com")),
        ("c2\\_node.evil.com", ("domain", "c2_node.evil.com")),
        ("_evil.com_", ("domain", "evil.com")),
        ("**evil.com**", ("domain", "evil.com")),
    ],
)
def test_defang_form_in_prose(defanged: str, expected: tuple[str, str]) -> None:
    assert pairs(f"The actor used {defanged} for staging.") == [expected]


def test_url_wrapped_over_a_soft_line_break() -> None:
    text = (
        "The proxy blocked a download from this address (the mail client wrapped it): hxxps://cdn-files[.]com/d/\n"
        "Quarterly_Report.iso?token=1 yesterday."
    )
    assert pairs(text) == [("url", "https://cdn-files.com/d/Quarterly_Report.iso?token=1")]


def test_url_at_the_end_of_a_short_line_is_not_joined_with_the_next() -> None:
    assert pairs("C2: http://evil.com/a\nnext/line is prose") == [("url", "http://evil.com/a")]


def test_digest_wrapped_over_lines() -> None:
    digest = "20a931248cd6d19eece9d04b38f13d5e3f240827fd02c1af8cf7f96626f52e45"
    text = f"SHA-256 of the payload:\n{digest[:40]}\n{digest[40:]}\nend"
    items = extract(text)
    assert [(i.type.value, i.value) for i in items] == [("sha256", digest)]
    assert items[0].raw == f"{digest[:40]}\n{digest[40:]}"


def test_digest_wrapped_at_the_end_of_a_long_line_of_prose() -> None:
    digest = "a6e1b0c2e9d874f3b1a2c3d4e5f60718293a4b5c6d7e8f9012a3b4c5d6e7f809"
    text = f"The ISO's SHA-256 as reported by the sandbox, also wrapped: {digest[:32]}\n{digest[32:]}\n"
    assert pairs(text) == [("sha256", digest)]


def test_a_list_of_digests_is_not_joined() -> None:
    md5s = ["1a82aa81cdbcc0c52eb771ab7daedc8a", "02f52889e2e632bb04824257f02d7a32"]
    assert pairs("\n".join(md5s) + "\n") == [("md5", md5s[0]), ("md5", md5s[1])]


def test_a_hex_dump_is_not_a_list_of_digests() -> None:
    lines = ["ab" * 32, "cd" * 32, "ef" * 10]
    assert pairs("Shellcode:\n" + "\n".join(lines) + "\n") == []


# --- Types --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2001:db8::1", ("ipv6", "2001:db8::1")),
        ("2001:DB8:0:0:0:0:0:1", ("ipv6", "2001:db8::1")),
        ("[2001:db8::1]:443", ("ipv6", "2001:db8::1")),
        ("::ffff:203.0.113.7", ("ipv6", "::ffff:203.0.113.7")),
        ("fe80::1%eth0", ("ipv6", "fe80::1")),
        ("::1", ("ipv6", "::1")),
        ("1::", ("ipv6", "1::")),
        ("010.001.002.003", ("ipv4", "10.1.2.3")),
        ("bücher.de", ("domain", "xn--bcher-kva.de")),
        ("c2_node.evil.com", ("domain", "c2_node.evil.com")),
        ("*.evil.com", ("domain", "evil.com")),
        ("CVE-2021-44228", ("cve", "CVE-2021-44228")),
        ("cve–2021–44228", ("cve", "CVE-2021-44228")),
        ("T1059", ("mitre-attack", "T1059")),
        ("T1059.001", ("mitre-attack", "T1059.001")),
        ("TA0001", ("mitre-attack", "TA0001")),
        ("d41d8cd98f00b204e9800998ecf8427e", ("md5", "d41d8cd98f00b204e9800998ecf8427e")),
        ("DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", ("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709")),
        ("ab" * 32, ("sha256", "ab" * 32)),
        ("cd" * 64, ("sha512", "cd" * 64)),
        ("mailto:Ops.Team@Evil.COM", ("email", "Ops.Team@evil.com")),
        ("user+tag@evil.com", ("email", "user+tag@evil.com")),
        ("HTTP://Evil.COM:80/A?b#frag", ("url", "http://evil.com/A?b")),
        ("https://[2001:db8::1]:8443/x", ("url", "https://[2001:db8::1]:8443/x")),
        ("https://en.wikipedia.org/wiki/Foo_(bar)", ("url", "https://en.wikipedia.org/wiki/Foo_(bar)")),
    ],
)
def test_types(text: str, expected: tuple[str, str]) -> None:
    assert pairs(f"Seen: {text} today") == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "T9999 and T1059.999",  # not known to ATT&CK
        "10:32:05 and 2024-03-01T10:32:05Z",  # times
        "00:1a:2b:3c:4d:5e",  # a MAC address
        "std::string and a :: b",  # C++ scopes
        "256.1.1.1 and 1.2.3.4.5 and 1.3.6.1.4.1.311",  # not addresses, an OID
        "localhost and intranet.local and host.lan",  # no public suffix
        "e.g. i.e. U.S. Fig.1 No.5 3.14",  # prose
        "1.2.3.0/24 and 2001:db8::/32",  # ranges
        "gopher://evil.com",  # the host is reported, but there is no gopher URL
    ],
)
def test_not_indicators(text: str) -> None:
    found = pairs(text)
    assert all(type_ != "url" for type_, _ in found)
    if "gopher" in text:
        assert found == [("domain", "evil.com")]
    else:
        assert found == []


def test_a_bare_ip_is_not_a_url_and_host_port_is_the_host() -> None:
    assert pairs("C2 1.2.3.4 and 5.6.7.8:8080 and evil.com:443") == [
        ("ipv4", "1.2.3.4"),
        ("ipv4", "5.6.7.8"),
        ("domain", "evil.com"),
    ]


def test_host_and_path_without_a_scheme_is_a_url() -> None:
    assert pairs("wget 1.2.3.4/bins.sh and evil.com/gate.php") == [
        ("url", "http://1.2.3.4/bins.sh"),
        ("url", "http://evil.com/gate.php"),
    ]


def test_url_host_and_email_domain_are_not_reported_unless_on_their_own() -> None:
    assert pairs("Beacon to https://evil.com/a and mail to ops@bad.org.") == [
        ("url", "https://evil.com/a"),
        ("email", "ops@bad.org"),
    ]
    assert pairs("https://evil.com/a is hosted on evil.com.") == [
        ("url", "https://evil.com/a"),
        ("domain", "evil.com"),
    ]


def test_values_inside_a_url_are_part_of_it() -> None:
    url = "https://x.com/d41d8cd98f00b204e9800998ecf8427e/CVE-2021-44228?ip=1.2.3.4"
    assert pairs(url) == [("url", url)]


@pytest.mark.parametrize(
    "text",
    [
        "version 1.2.3.4",
        "Version: 1.2.3.4",
        "build 10.0.0.255",
        "firmware 9.4.1.12 and earlier",
        "1.2.3.4 or later",
        "versions prior to 2.0.1.3",
        "fixed in 10.2.5.0",
        "upgrade to 10.2.5.0",
        "Chrome/120.0.0.0 Safari/537.36",
        "versions 10.2.0.1, 10.2.0.2 and 10.2.1.0",
        "versions 1.1.1.1 through 1.1.1.9",
    ],
)
def test_version_numbers_are_not_addresses(text: str) -> None:
    assert pairs(text) == []


def test_a_defanged_address_after_a_version_word_is_an_address() -> None:
    assert pairs("version 1.2.3[.]4") == [("ipv4", "1.2.3.4")]


def test_an_address_list_is_not_a_version_list() -> None:
    assert pairs("C2s: 185.1.1.1, 185.1.1.2 and 185.1.1.3") == [
        ("ipv4", "185.1.1.1"),
        ("ipv4", "185.1.1.2"),
        ("ipv4", "185.1.1.3"),
    ]


# --- File names and other lookalikes ------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "invoice.pdf",
        "update.ps1",
        "readme.md",
        "README.md",
        "payload.zip",
        "video.mov",
        "install.sh",
        "bot.py",
        "exploit.pl",
        "libfoo.so",
        "Safari.app",
        "notes.one",
        "id_rsa.pub",
    ],
)
def test_file_names_are_not_domains(name: str) -> None:
    assert pairs(f"The dropper writes {name} to disk.") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("payload[.]zip", ("domain", "payload.zip")),
        ("www.payload.zip", ("domain", "www.payload.zip")),
        ("https://payload.zip/x", ("url", "https://payload.zip/x")),
        ("ops@readme.md", ("email", "ops@readme.md")),
        ("evil.cc", ("domain", "evil.cc")),  # .cc: far more often a C2 than a C++ file
    ],
)
def test_file_extension_tlds_count_when_defanged_or_in_a_url(text: str, expected: tuple[str, str]) -> None:
    assert pairs(f"Seen: {text} today") == [expected]


def test_code_identifiers_and_package_names_are_not_domains() -> None:
    assert pairs("System.Net and attack.The and com.tencent.mm and org.telegram.messenger") == []
    assert pairs("a path: /Applications/Safari.app/Contents/MacOS/Safari") == []


def test_spelled_out_dot_in_prose_is_not_a_defang() -> None:
    assert pairs("the dot com bubble; the red dot is on; a dot to the left") == []


def test_digest_named_file_is_a_digest() -> None:
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    assert pairs(f"dropped {md5}.exe and {md5}.zip") == [("md5", md5)]


@pytest.mark.parametrize(
    "text",
    [
        "0123456789abcdef0123456789abcdef00",  # a longer hex run (34)
        "x0123456789abcdef0123456789abcdef",  # inside a word
        "0x0123456789abcdef0123456789abcdef",  # a constant
        "{0123456789abcdef0123456789abcdef}",  # a GUID without hyphens
        "CLSID 0123456789abcdef0123456789abcdef",
        "ActivityID: 0123456789abcdef0123456789abcdef",
        "d41d8cd9-8f00-b204-e980-0998ecf8427e",  # a GUID
        "key " + "ab" * 33,  # 66 digits: no digest has that length
    ],
)
def test_hex_that_is_not_a_digest(text: str) -> None:
    assert pairs(text) == []


# --- Dedup, order, offsets, sentences ------------------------------------------------------------


def test_each_indicator_once_in_order_of_first_appearance() -> None:
    text = "First EVIL.com, then 1.2.3.4, then evil[.]com again and 1[.]2[.]3[.]4."
    items = extract(text)
    assert [(i.value, i.raw, i.start) for i in items] == [
        ("evil.com", "EVIL.com", 6),
        ("1.2.3.4", "1.2.3.4", 21),
    ]


def test_offsets_and_raw_of_defanged_values() -> None:
    text = "C2 at hxxps://evil[.]com/gate.php, mail ops[@]evil[.]com."
    for item in extract(text):
        assert text[item.start : item.end] == item.raw
    assert [i.raw for i in extract(text)] == ["hxxps://evil[.]com/gate.php", "ops[@]evil[.]com"]


def test_sentence_is_the_one_holding_the_value() -> None:
    text = (
        "Summary\n\nIn March the actor used e.g. evil[.]com for C2.   It also changed its\n"
        "infrastructure and used   1.2.3.4 later! Next came the encryption stage.\n"
        "- 5.6.7.8\n- bad.org\n"
    )
    sentences = {i.value: i.sentence for i in extract(text)}
    assert sentences == {
        "evil.com": "In March the actor used e.g. evil[.]com for C2.",
        "1.2.3.4": "It also changed its infrastructure and used 1.2.3.4 later!",
        "5.6.7.8": "- 5.6.7.8",
        "bad.org": "- bad.org",
    }


def test_long_sentences_are_cut_around_the_value() -> None:
    text = "word " * 200 + "evil.com " + "word " * 200
    (item,) = extract(text)
    assert len(item.sentence) <= 300
    assert "evil.com" in item.sentence
    assert item.sentence.startswith("…") and item.sentence.endswith("…")


def test_extracted_is_frozen() -> None:
    (item,) = extract("evil.com")
    assert isinstance(item, Extracted)
    with pytest.raises(AttributeError):
        item.value = "x"  # type: ignore[misc]


def test_to_json_line() -> None:
    (item,) = extract("C2: evil[.]com.")
    assert json.loads(to_json_line(item)) == {"type": "domain", "value": "evil.com"}
    assert json.loads(to_json_line(item, with_context=True)) == {
        "type": "domain",
        "value": "evil.com",
        "start": 4,
        "end": 14,
        "context": "C2: evil[.]com.",
    }


def test_unknown_content_type() -> None:
    with pytest.raises(InvalidParameter, match="Unknown content type"):
        extract("x", "pdf")


def test_empty_text() -> None:
    assert extract("") == []
    assert extract("no indicators in this sentence.") == []


# --- HTML and Markdown --------------------------------------------------------------------------


HTML = (
    '<html><head><title>Report</title><script>var u = "http://tracker.example.com/t.js";</script>'
    "<style>a::after { content: 'css.example.com'; }</style></head><body>"
    '<p>Beacon to <a href="https://evil.com/gate.php?a=1&amp;b=2">the panel</a> and '
    "<b>bad</b>-host&#91;.&#93;net.</p>"
    "<table><tr><td>1.2.3.4</td><td>evil.org</td></tr></table>"
    '<p>Mail <a href="mailto:ops@evil.com">us</a>. <img src="/logo.png"> cdn&shy;edge[.]io</p>'
    "</body></html>"
)


def test_html_text_links_entities_and_no_script_or_style() -> None:
    assert pairs(HTML) == [
        ("url", "https://evil.com/gate.php?a=1&b=2"),
        ("domain", "bad-host.net"),
        ("ipv4", "1.2.3.4"),
        ("domain", "evil.org"),
        ("email", "ops@evil.com"),
        ("domain", "cdnedge.io"),
    ]


def test_html_offsets_point_into_the_markup() -> None:
    items = {i.value: i for i in extract(HTML)}
    ip = items["1.2.3.4"]
    assert HTML[ip.start : ip.end] == "1.2.3.4"
    split = items["bad-host.net"]
    assert HTML[split.start : split.end] == "bad</b>-host&#91;.&#93;net"
    assert split.raw == "bad-host[.]net"
    assert split.sentence == "Beacon to the panel and bad-host[.]net."
    link = items["https://evil.com/gate.php?a=1&b=2"]
    assert HTML[link.start : link.end].startswith("https://evil.com/gate.php")
    assert link.sentence == "Beacon to the panel and bad-host[.]net."


def test_html_table_cells_stay_apart() -> None:
    assert pairs("<table><tr><td>evil</td><td>.com</td></tr></table>", "html") == []


def test_markdown_link_target_and_text() -> None:
    text = 'See [evil.com](https://evil.com/x) and [report](hxxps://bad[.]org/r.pdf "title").'
    assert pairs(text) == [
        ("domain", "evil.com"),
        ("url", "https://evil.com/x"),
        ("url", "https://bad.org/r.pdf"),
    ]


def test_markdown_link_with_a_url_as_text() -> None:
    assert pairs("[http://a.com/x](http://b.com/y)") == [("url", "http://a.com/x"), ("url", "http://b.com/y")]


def test_markdown_tables_and_code() -> None:
    text = "| IOC | Note |\n|---|---|\n| `1.2.3[.]4` | C2 |\n\n```\nhxxp://evil[.]com/a\n```\n"
    assert pairs(text, "markdown") == [("ipv4", "1.2.3.4"), ("url", "http://evil.com/a")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<!DOCTYPE html><p>x</p>", "html"),
        ("<div><p>a</p><p>b</p><p>c</p></div>", "html"),
        ("# Title\n\n[link](http://x.com)", "markdown"),
        ("plain text with evil.com", "text"),
        ("a < b and c > d", "text"),
    ],
)
def test_content_type_detection(text: str, expected: str) -> None:
    assert detect_content_type(text) == expected


PATHOLOGICAL = {
    "dots": "a." * 50_000,
    "numbers": "1." * 50_000,
    "colons": ":" * 100_000,
    "defanged-dots": "a[.]" * 25_000,
    "ats": "a@" * 50_000,
    "schemes": "hxxp://" * 15_000,
    "link-syntax": "http://a.com/" + "](" * 50_000,
    "ports": "1.2.3.4:" * 12_000,
    "hex-dots": ("ab" * 16 + ".") * 3_000,
}


@pytest.mark.parametrize("text", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_text_takes_linear_time(text: str) -> None:
    started = time.perf_counter()
    extract(text, "text")
    assert time.perf_counter() - started < 3.0
