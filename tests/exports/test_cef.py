"""CEF and RFC 5424 lines, read back by strict parsers written here from the two specifications."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from iocfeed.exports.cef import (
    SD_ID,
    cef_chunks,
    cef_line,
    escape_extension,
    escape_header,
    severity,
    syslog_hostname,
    syslog_line,
)
from iocfeed.store.queries import IndicatorRow, SourceRef
from iocfeed.store.upsert import indicator_uuid
from iocfeed.timeutil import MICROS_PER_DAY, parse_instant

SEEN = parse_instant("2026-03-01T12:00:00Z")
NOW = SEEN  # no decay: the score is the base score
SOURCE = SourceRef(1, "Gov Alerts", "government", "article", 85, SEEN, "a1", "Advisory AA26-001A",
                   "https://gov.example/aa26-001a", None, SEEN, None, "raw")  # fmt: skip
NASTY_FEED = 'Feed = "one" | two \\ [three]\nfour'


def make_row(type_: str, value: str, **changes: object) -> IndicatorRow:
    row = IndicatorRow(
        pk=1, id=indicator_uuid(type_, value), type=type_, value=value, status="active", status_reason=None,
        base_score=88.0, score=88, confidence="high", first_seen=SEEN - MICROS_PER_DAY, last_seen=SEEN,
        updated_at=SEEN, source_count=1, industries="[]", tags="[]", mitre_techniques="[]", context=None,
        best_sighting=1, best_government_sighting=1, best_commercial_sighting=None, best_community_sighting=None,
    )  # fmt: skip
    return replace(row, **changes)


# --- a strict CEF reader: 7 header fields split on unescaped pipes, then key=value pairs ---------

_HEADER_FIELD = r"((?:[^|\\\r\n]|\\[|\\])*)"
_CEF = re.compile(r"CEF:0\|" + r"\|".join([_HEADER_FIELD] * 6) + r"\|(.*)")
_PAIR = re.compile(r"([A-Za-z0-9]+)=((?:[^\\=\r\n]|\\[\\=nr])*?)(?= [A-Za-z0-9]+=|$)")
_EXTENSION_UNESCAPE = {"\\\\": "\\", "\\=": "=", "\\n": "\n", "\\r": "\r"}


def parse_cef(line: str) -> tuple[list[str], dict[str, str]]:
    match = _CEF.fullmatch(line)
    assert match is not None, line
    header = [re.sub(r"\\([|\\])", r"\1", field) for field in match.groups()[:6]]
    extension = match.group(7)
    pairs = list(_PAIR.finditer(extension))
    assert " ".join(m.group(0) for m in pairs) == extension, "extension is not a clean key=value list"
    fields = {
        m.group(1): re.sub(r"\\[\\=nr]", lambda e: _EXTENSION_UNESCAPE[e.group()], m.group(2)) for m in pairs
    }
    assert len(fields) == len(pairs), "a key appears twice"
    return header, fields


# --- a strict RFC 5424 reader (section 6 ABNF), one structured-data element expected --------------

_SD_NAME = r"[!#-<>-\\^-~]{1,32}"  # PRINTUSASCII except '=', ' ', ']' and '"'
_SD_VALUE = r'(?:[^"\\\]]|\\["\\\]])*'
_SYSLOG = re.compile(
    r"<(?P<pri>\d{1,3})>1 "
    r"(?P<timestamp>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})) "
    r"(?P<hostname>[!-~]{1,255}) (?P<app>[!-~]{1,48}) (?P<procid>[!-~]{1,128}) (?P<msgid>[!-~]{1,32}) "
    rf"(?P<sd>\[(?P<sdid>{_SD_NAME})(?P<params>(?: {_SD_NAME}=\"{_SD_VALUE}\")*)\]) "
    r"(?P<msg>.*)"
)
_SD_PARAM = re.compile(rf' ({_SD_NAME})="({_SD_VALUE})"')


def parse_syslog(line: str) -> tuple[re.Match[str], dict[str, str]]:
    match = _SYSLOG.fullmatch(line)
    assert match is not None, line
    params = {
        name: re.sub(r'\\(["\\\]])', r"\1", value) for name, value in _SD_PARAM.findall(match["params"])
    }
    return match, params


def test_header_escapes_pipes_and_backslashes_and_drops_line_breaks():
    assert escape_header("a|b\\c\nd\re") == "a\\|b\\\\c d e"


def test_extension_escapes_equals_backslashes_and_encodes_line_breaks():
    assert escape_extension("a=b\\c\nd\re|f") == "a\\=b\\\\c\\nd\\re|f"


def test_nasty_values_round_trip_through_a_strict_parser():
    source = replace(SOURCE, feed_name=NASTY_FEED, article_url="https://x.example/?a=1&b=2\\")
    row = make_row(
        "url", "http://evil.example/a=b\\c|d?x=1", context="line one\nline = two\\", tags='["a=b"]'
    )
    line = cef_line(row, source, NOW)
    assert "\n" not in line and "\r" not in line
    header, fields = parse_cef(line)
    assert header == ["iocfeed", "iocfeed", header[2], "url", "Threat indicator: URL", "9"]
    assert fields["request"] == row.value
    assert fields["cs3"] == row.value
    assert fields["cs2"] == NASTY_FEED
    assert fields["msg"] == row.context
    assert fields["cs4"] == "a=b"
    assert fields["flexString1"] == source.article_url


@pytest.mark.parametrize(
    ("type_", "value", "field"),
    [
        ("ipv4", "203.0.113.7", "dst"),
        ("ipv6", "2001:db8::7", "c6a3"),
        ("domain", "malware.example-bad.com", "dhost"),
        ("url", "http://phish.example-bad.net/login", "request"),
        ("md5", "0" * 31 + "1", "fileHash"),
        ("sha1", "0" * 39 + "1", "fileHash"),
        ("sha256", "0" * 63 + "1", "fileHash"),
        ("sha512", "0" * 127 + "1", "fileHash"),
        ("email", "billing@invoice-fraud.example.org", "suser"),
        ("cve", "CVE-2021-44228", "cs3"),
        ("mitre-attack", "T1059", "cs3"),
    ],
)
def test_each_type_puts_its_value_in_the_documented_field(type_, value, field):
    row = make_row(type_, value, tags='["c2"]', mitre_techniques='["T1071", "T1059.001"]')
    header, fields = parse_cef(cef_line(row, SOURCE, NOW))
    assert header[3] == type_  # SignatureID
    assert fields[field] == value
    assert fields["cs3Label"] == "indicator" and fields["cs3"] == value
    assert (fields["cs1Label"], fields["cs1"]) == ("confidence", "high")
    assert (fields["cs2Label"], fields["cs2"]) == ("feed", "Gov Alerts")
    assert (fields["cs4Label"], fields["cs4"]) == ("tags", "c2")
    assert (fields["cs5Label"], fields["cs5"]) == ("mitreTechniques", "T1071,T1059.001")
    assert (fields["cs6Label"], fields["cs6"]) == ("sourceCategory", "government")
    assert (fields["cn1Label"], fields["cn1"]) == ("score", "88")
    assert fields["externalId"] == row.id
    assert fields["cat"] == "active"
    assert int(fields["rt"]) == SEEN // 1000 and int(fields["start"]) == (SEEN - MICROS_PER_DAY) // 1000
    if type_ == "ipv6":
        assert fields["c6a3Label"] == "Destination IPv6 Address"
        assert "dst" not in fields  # CEF's dst is an IPv4 field


def test_a_row_without_a_source_still_makes_a_line():
    _, fields = parse_cef(cef_line(make_row("ipv4", "203.0.113.7"), None, NOW))
    assert "cs2" not in fields and "cs6" not in fields
    assert fields["dst"] == "203.0.113.7"


@pytest.mark.parametrize(
    ("score", "expected"),
    [(0, 0), (12, 0), (13, 1), (49, 3), (50, 4), (62, 5), (74, 6), (75, 7), (88, 9), (100, 10), (150, 10)],
)
def test_severity_from_score(score, expected):
    assert severity(score) == expected


def test_severity_keeps_each_band_inside_arcsight_range():
    assert {severity(s) for s in range(50)} == {0, 1, 2, 3}
    assert {severity(s) for s in range(50, 75)} == {4, 5, 6}
    assert {severity(s) for s in range(75, 101)} == {7, 8, 9, 10}
    assert all(severity(s) <= severity(s + 1) for s in range(100))


def test_syslog_line_is_rfc5424_with_escaped_structured_data():
    source = replace(SOURCE, feed_name=NASTY_FEED)
    row = make_row("domain", "malware.example-bad.com")
    line = syslog_line(row, source, NOW, "iocfeed-1.example")
    match, params = parse_syslog(line)
    assert int(match["pri"]) == 16 * 8 + 4  # local0, warning (high confidence)
    assert match["timestamp"] == "2026-03-01T12:00:00Z"
    assert (match["hostname"], match["app"], match["procid"], match["msgid"]) == (
        "iocfeed-1.example", "iocfeed", "-", "domain"
    )  # fmt: skip
    assert match["sdid"] == SD_ID == "ioc@32473"
    assert params["value"] == "malware.example-bad.com"
    assert params["feed"] == NASTY_FEED.replace("\n", " ")  # line breaks become spaces, the rest survives
    assert params["id"] == row.id and params["score"] == "88" and params["status"] == "active"
    assert params["firstSeen"] == "2026-02-28T12:00:00Z"
    _header, fields = parse_cef(match["msg"])  # the message is the CEF line
    assert fields["dhost"] == row.value


@pytest.mark.parametrize(
    ("confidence", "status", "level"),
    [("high", "active", 4), ("medium", "active", 5), ("low", "active", 6), ("high", "revoked", 6)],
)
def test_syslog_severity_follows_confidence_and_status(confidence, status, level):
    row = make_row("ipv4", "203.0.113.7", confidence=confidence, status=status)
    match, _ = parse_syslog(syslog_line(row, SOURCE, NOW, "host"))
    assert int(match["pri"]) == 16 * 8 + level


def test_syslog_hostname_is_printable_ascii():
    assert syslog_hostname("my host\tname") == "myhostname"
    assert syslog_hostname("") == "-"
    assert len(syslog_hostname("h" * 300)) == 255


def test_chunks_are_one_line_per_indicator_per_batch():
    rows = [make_row("ipv4", f"198.51.100.{i}") for i in range(1, 8)]
    batches = [[(row, SOURCE) for row in rows[:4]], [(row, SOURCE) for row in rows[4:]]]
    for syslog in (False, True):
        chunks = list(cef_chunks(batches, now=NOW, syslog=syslog, hostname="h"))
        assert len(chunks) == 2
        lines = b"".join(chunks).decode().splitlines()
        assert len(lines) == 7
        for line, row in zip(lines, rows, strict=True):
            fields = parse_cef(parse_syslog(line)[0]["msg"] if syslog else line)[1]
            assert fields["dst"] == row.value
