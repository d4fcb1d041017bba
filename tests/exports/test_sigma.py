"""Sigma export: every document loads with yaml.safe_load_all and is a well-formed Sigma rule."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace

import pytest
import yaml

from iocfeed.exports.sigma import sigma_chunks, sigma_literal, yaml_quote
from iocfeed.store.queries import IndicatorRow, SourceRef
from iocfeed.store.upsert import indicator_uuid
from iocfeed.timeutil import MICROS_PER_DAY, parse_instant

SEEN = parse_instant("2026-03-01T12:00:00Z")
NOW = SEEN
SOURCE = SourceRef(1, "Gov Alerts", "government", "article", 85, SEEN, "a1", "Advisory AA26-001A",
                   "https://gov.example/aa26-001a", "https://gov.example/iocs.csv", SEEN, None, "raw")  # fmt: skip
NASTY_URL = "http://evil.example/a: b #c?d=*&e='f' \"g\" \\h\n- i: [j] {k} \u2028\x85\ufeff\x00 ü 🙂"
NASTY_DOMAIN = "xn--80ak6aa92e.com"
# From the Sigma JSON schema (v2): required keys, the tag form, the date form.
TAG = re.compile(r"^[a-z0-9_-]+\.[a-z0-9._-]+$")
DATE = re.compile(r"^\d{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])$")


def make_row(type_: str, value: str, **changes: object) -> IndicatorRow:
    row = IndicatorRow(
        pk=1, id=indicator_uuid(type_, value), type=type_, value=value, status="active", status_reason=None,
        base_score=80.0, score=80, confidence="high", first_seen=SEEN - MICROS_PER_DAY, last_seen=SEEN,
        updated_at=SEEN, source_count=1, industries="[]", tags="[]", mitre_techniques="[]", context=None,
        best_sighting=1, best_government_sighting=1, best_commercial_sighting=None, best_community_sighting=None,
    )  # fmt: skip
    return replace(row, **changes)


def export(rows: list[IndicatorRow], *, batch: int = 100) -> tuple[list[bytes], str]:
    batches = [[(row, SOURCE) for row in rows[i : i + batch]] for i in range(0, len(rows), batch)]
    chunks = list(sigma_chunks(batches, now=NOW))
    return chunks, b"".join(chunks).decode()


def rules_of(text: str) -> list[dict]:
    return list(yaml.safe_load_all(text))


def sigma_unescape(value: str) -> str:
    """What a Sigma value matches literally: `\\*`, `\\?` and `\\\\` stand for `*`, `?` and `\\`."""
    return re.sub(r"\\([\\*?])", r"\1", value)


def detection_value(rule: dict) -> str:
    (field_value,) = rule["detection"]["selection"].values()
    return field_value


def assert_well_formed(rule: dict) -> None:
    assert isinstance(rule["title"], str) and 0 < len(rule["title"]) <= 256
    assert isinstance(rule["logsource"], dict) and rule["logsource"]["category"]
    assert rule["detection"]["condition"] == "selection"
    assert rule["detection"]["selection"]
    uuid.UUID(rule["id"])
    assert rule["status"] in ("experimental", "deprecated")
    assert rule["level"] in ("informational", "low", "medium", "high", "critical")
    assert DATE.match(rule["date"]) and DATE.match(rule["modified"])
    assert all(TAG.match(tag) for tag in rule["tags"]), rule["tags"]
    assert len(set(rule["tags"])) == len(rule["tags"])
    assert isinstance(rule["description"], str) and rule["author"] == "iocfeed"
    assert all(isinstance(fp, str) and len(fp) >= 2 for fp in rule["falsepositives"])


@pytest.mark.parametrize(
    ("type_", "value", "shapes"),
    [
        ("ipv4", "203.0.113.7", [("network_connection", "DestinationIp", "203.0.113.7")]),
        ("ipv6", "2001:db8::7", [("network_connection", "DestinationIp", "2001:db8::7")]),
        (
            "domain",
            "malware.example-bad.com",
            [("dns_query", "QueryName", "malware.example-bad.com"),
             ("network_connection", "DestinationHostname", "malware.example-bad.com")],
        ),
        ("url", "http://phish.example-bad.net/login", [("proxy", "c-uri", "http://phish.example-bad.net/login")]),
        ("md5", "a" * 32, [("process_creation", "Hashes|contains", "MD5=" + "A" * 32),
                           ("file_event", "Hashes|contains", "MD5=" + "A" * 32)]),
        ("sha1", "b" * 40, [("process_creation", "Hashes|contains", "SHA1=" + "B" * 40),
                            ("file_event", "Hashes|contains", "SHA1=" + "B" * 40)]),
        ("sha256", "c" * 64, [("process_creation", "Hashes|contains", "SHA256=" + "C" * 64),
                              ("file_event", "Hashes|contains", "SHA256=" + "C" * 64)]),
    ],
)  # fmt: skip
def test_rule_shapes_per_type(type_, value, shapes):
    _, text = export([make_row(type_, value)])
    assert text.startswith("---\n")
    rules = rules_of(text)
    assert [(r["logsource"]["category"], *r["detection"]["selection"].items()) for r in rules] == [
        (category, (field, match)) for category, field, match in shapes
    ]
    for rule in rules:
        assert_well_formed(rule)
        assert rule["references"] == ["https://gov.example/aa26-001a", "https://gov.example/iocs.csv"]
        assert rule["date"] == "2026-02-28" and rule["modified"] == "2026-03-01"
        assert rule["level"] == "high" and rule["status"] == "experimental"
    if len(rules) == 2:  # the pair points at each other
        assert rules[0]["related"] == [{"id": rules[1]["id"], "type": "similar"}]
        assert rules[1]["related"] == [{"id": rules[0]["id"], "type": "similar"}]


def test_types_without_a_rule_shape_are_counted_in_a_trailing_comment():
    rows = [
        make_row("ipv4", "203.0.113.7"),
        make_row("sha512", "d" * 128),
        make_row("email", "billing@invoice-fraud.example.org"),
        make_row("cve", "CVE-2021-44228"),
        make_row("cve", "CVE-2024-3400"),
        make_row("mitre-attack", "T1059"),
    ]
    _, text = export(rows)
    assert len(rules_of(text)) == 1
    assert text.endswith(
        "# iocfeed: no Sigma rule shape for these records: cve: 2, email: 1, mitre-attack: 1, sha512: 1\n"
    )
    _, only_omitted = export(rows[1:])
    assert rules_of(only_omitted) == []  # a stream of just a comment holds no document


def test_a_nasty_url_round_trips_exactly():
    row = make_row("url", NASTY_URL, context="said: 'yes' # not a comment\n---\nkey: value")
    _, text = export([row])
    (rule,) = rules_of(text)
    assert_well_formed(rule)
    assert sigma_unescape(detection_value(rule)) == NASTY_URL
    assert NASTY_URL in rule["description"]
    assert rule["description"].endswith("Context: said: 'yes' # not a comment\n---\nkey: value")
    assert rule["title"].startswith("Proxy request for http://evil.example/a: b #c?d=*")
    assert "\n" not in rule["title"]  # a title is one line


def test_sigma_wildcards_in_values_are_escaped():
    assert sigma_literal("http://x/a?b=*\\c") == "http://x/a\\?b=\\*\\\\c"
    (rule,) = rules_of(export([make_row("url", "http://x/a?b=*")])[1])
    assert detection_value(rule) == "http://x/a\\?b=\\*"


def test_yaml_quote_survives_every_code_point_class():
    sample = "".join(chr(c) for c in [*range(0, 0x100), 0x2028, 0x2029, 0xFEFF, 0xFFFE, 0x1F642, 0x10FFFF])
    assert yaml.safe_load("value: " + yaml_quote(sample))["value"] == sample


def test_a_long_value_is_cut_in_the_title_but_whole_in_the_detection():
    long_url = "http://evil.example/" + "a" * 500
    (rule,) = rules_of(export([make_row("url", long_url)])[1])
    assert len(rule["title"]) <= 256
    assert detection_value(rule) == long_url


def test_attack_and_tlp_tags():
    row = make_row(
        "domain", NASTY_DOMAIN, mitre_techniques='["T1071", "T1059.001", "TA0011"]', confidence="medium"
    )
    rules = rules_of(export([row])[1])
    assert rules[0]["tags"] == [
        "attack.t1071", "attack.command-and-control", "attack.t1059.001", "attack.execution", "tlp.amber"
    ]  # fmt: skip
    assert rules[0]["level"] == "medium"


def test_inactive_indicators_are_deprecated_informational_rules():
    (rule,) = rules_of(export([make_row("ipv4", "203.0.113.7", status="revoked")])[1])
    assert (rule["status"], rule["level"]) == ("deprecated", "informational")
    assert "revoked" in rule["description"]


def test_ids_are_deterministic_and_distinct_per_rule():
    rows = [make_row("domain", "a.example-bad.com"), make_row("domain", "b.example-bad.com")]
    first = [r["id"] for r in rules_of(export(rows)[1])]
    again = [r["id"] for r in rules_of(export(rows)[1])]
    assert first == again
    assert len(set(first)) == 4


def test_rules_are_written_batch_by_batch():
    rows = [make_row("ipv4", f"198.51.100.{i}") for i in range(1, 26)]
    chunks, text = export(rows, batch=10)
    assert len(chunks) == 3
    assert len(rules_of(text)) == 25
