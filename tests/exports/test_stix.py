"""STIX 2.1 export: patterns per type, escaping, ids, TLP markings, kill chains, CVE and ATT&CK
objects, withdrawn indicators; every bundle passes stix2-validator and parses with stix2."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

import pytest
import stix2
from stix2validator import ValidationOptions, validate_instance

from iocfeed.exports.stix import (
    PRODUCER_IDENTITY,
    TLP_MARKING_IDS,
    escape_pattern_string,
    indicator_types,
    kill_chain_phases,
    stix_object,
    stix_pattern,
    stream_bundle,
)
from iocfeed.scoring import decayed_score
from iocfeed.store.queries import IndicatorRow, SourceRef
from iocfeed.store.upsert import indicator_uuid
from iocfeed.timeutil import MICROS_PER_DAY, parse_instant

SEEN = parse_instant("2026-03-01T12:00:00Z")
UPDATED = SEEN + 3_600_000_000 + 123_456
NOW = SEEN + MICROS_PER_DAY
ARTICLE = SourceRef(1, "Gov Alerts", "government", "article", 85, SEEN, "a1", "Advisory AA26-001A",
                    "https://gov.example/aa26-001a", "https://gov.example/ref", SEEN, None, "raw")  # fmt: skip

EVERY_TYPE = {
    "ipv4": ("203.0.113.7", "[ipv4-addr:value = '203.0.113.7']"),
    "ipv6": ("2001:db8::7", "[ipv6-addr:value = '2001:db8::7']"),
    "domain": ("malware.example-bad.com", "[domain-name:value = 'malware.example-bad.com']"),
    "url": ("http://phish.example-bad.net/a?id=1", "[url:value = 'http://phish.example-bad.net/a?id=1']"),
    "email": (
        "billing@invoice-fraud.example.org",
        "[email-addr:value = 'billing@invoice-fraud.example.org']",
    ),
    "md5": ("0" * 31 + "1", f"[file:hashes.MD5 = '{'0' * 31}1']"),
    "sha1": ("0" * 39 + "1", f"[file:hashes.'SHA-1' = '{'0' * 39}1']"),
    "sha256": ("0" * 63 + "1", f"[file:hashes.'SHA-256' = '{'0' * 63}1']"),
    "sha512": ("0" * 127 + "1", f"[file:hashes.'SHA-512' = '{'0' * 127}1']"),
}


def make_row(type_: str, value: str, pk: int = 1, **changes: object) -> IndicatorRow:
    row = IndicatorRow(
        pk=pk, id=indicator_uuid(type_, value), type=type_, value=value, status="active", status_reason=None,
        base_score=80.0, score=80, confidence="high", first_seen=SEEN, last_seen=SEEN, updated_at=UPDATED,
        source_count=2, industries="[]", tags='["c2"]', mitre_techniques="[]", context=None, best_sighting=1,
        best_government_sighting=1, best_commercial_sighting=None, best_community_sighting=None,
    )  # fmt: skip
    return replace(row, **changes)


def every_row() -> list[IndicatorRow]:
    rows = [make_row(t, v, pk) for pk, (t, (v, _)) in enumerate(EVERY_TYPE.items(), start=1)]
    rows += [
        make_row("cve", "CVE-2021-44228", 20, confidence="medium", base_score=60.0),
        make_row("mitre-attack", "T1059.001", 21, confidence="low", base_score=30.0),
        make_row("mitre-attack", "TA0011", 22),
        make_row("url", "http://x.example/it's\\here", 23, mitre_techniques='["T1071", "TA0011"]'),
        make_row("domain", "revoked.example", 24, status="revoked"),
        make_row("domain", "fp.example", 25, status="false-positive", status_reason="top domains"),
        make_row("domain", "old.example", 26, status="expired", confidence="low", base_score=20.0),
    ]
    return rows


def bundle_of(rows: list[IndicatorRow], *, tlp: str | None = None, batch: int = 4) -> dict:
    batches = [[(row, ARTICLE) for row in rows[i : i + batch]] for i in range(0, len(rows), batch)]
    return json.loads(b"".join(stream_bundle(batches, now=NOW, tlp=tlp)))


def assert_valid(bundle: dict) -> None:
    results = validate_instance(bundle, ValidationOptions(enforce_refs=True))
    assert results.is_valid, [str(error) for error in results.errors]
    assert not results.errors
    stix2.parse(bundle, allow_custom=False)


def objects_by_id(bundle: dict) -> dict[str, dict]:
    return {obj["id"]: obj for obj in bundle["objects"]}


@pytest.mark.parametrize("indicator_type", list(EVERY_TYPE))
def test_pattern_for_every_type(indicator_type):
    value, expected = EVERY_TYPE[indicator_type]
    assert stix_pattern(indicator_type, value) == expected
    obj = stix_object(make_row(indicator_type, value), ARTICLE, now=NOW)
    assert obj["pattern"] == expected and obj["pattern_type"] == "stix"
    assert_valid({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [obj]})


def test_quotes_and_backslashes_are_escaped_in_patterns():
    assert escape_pattern_string("a'b\\c") == "a\\'b\\\\c"
    url = "http://evil.example/it's\\path?q='1'"
    pattern = stix_object(make_row("url", url), None, now=NOW)["pattern"]
    assert pattern == "[url:value = 'http://evil.example/it\\'s\\\\path?q=\\'1\\'']"
    # The pattern parses back to the original value.
    indicator = stix2.Indicator(pattern=pattern, pattern_type="stix", valid_from="2026-01-01T00:00:00Z")
    assert indicator.pattern == pattern


def test_ids_are_deterministic_and_follow_the_indicator_id():
    row = make_row("ipv4", "203.0.113.7")
    first = stix_object(row, ARTICLE, now=NOW)
    again = stix_object(replace(row, pk=99, updated_at=UPDATED + 5), None, now=NOW + 5)
    assert first["id"] == again["id"] == f"indicator--{indicator_uuid('ipv4', '203.0.113.7')}"
    assert str(uuid.UUID(first["id"].partition("--")[2])) == row.id
    assert bundle_of([row])["id"] != bundle_of([row])["id"]  # the bundle itself is new each time


def test_indicator_fields():
    obj = stix_object(make_row("ipv4", "203.0.113.7", context="C2 in AA26-001A"), ARTICLE, now=NOW)
    assert obj["spec_version"] == "2.1"
    assert obj["created_by_ref"] == PRODUCER_IDENTITY["id"]
    assert obj["modified"] == "2026-03-01T13:00:00.123456Z"  # updated_at, to the microsecond
    assert obj["created"] == obj["valid_from"] == "2026-03-01T12:00:00.000000Z"
    assert obj["confidence"] == decayed_score("ipv4", 80.0, SEEN, NOW) == 78  # as of the export
    assert obj["labels"] == ["c2"]
    assert obj["indicator_types"] == ["malicious-activity"]
    assert obj["name"] == "IPv4 address 203.0.113.7" and obj["description"] == "C2 in AA26-001A"
    assert obj["external_references"] == [
        {
            "source_name": "Gov Alerts",
            "url": "https://gov.example/aa26-001a",
            "description": "Advisory AA26-001A",
        },
        {"source_name": "Gov Alerts", "url": "https://gov.example/ref"},
    ]
    assert "revoked" not in obj and "valid_until" not in obj


def test_indicator_types_from_tags():
    assert indicator_types([]) == ["malicious-activity"]
    assert indicator_types(["compromised"]) == ["compromised"]
    assert indicator_types(["compromised", "botnet-c2"]) == ["compromised", "malicious-activity"]
    assert indicator_types(["scanner"]) == ["anomalous-activity"]
    assert indicator_types(["tor", "phishing"]) == ["anonymization", "malicious-activity"]


def test_kill_chain_phases_from_attack_techniques_and_tactics():
    assert kill_chain_phases(["T1071"]) == [
        {"kill_chain_name": "mitre-attack", "phase_name": "command-and-control"}
    ]
    assert kill_chain_phases(["TA0011", "T1071"]) == [
        {"kill_chain_name": "mitre-attack", "phase_name": "command-and-control"}
    ]
    phases = {p["phase_name"] for p in kill_chain_phases(["T1566", "T1059.001"])}
    assert phases == {"initial-access", "execution"}
    obj = stix_object(make_row("domain", "c2.example", mitre_techniques='["T1071"]'), None, now=NOW)
    assert obj["kill_chain_phases"] == [
        {"kill_chain_name": "mitre-attack", "phase_name": "command-and-control"}
    ]


def test_cve_is_a_vulnerability_with_a_cve_reference():
    obj = stix_object(make_row("cve", "CVE-2021-44228"), ARTICLE, now=NOW)
    assert obj["type"] == "vulnerability" and obj["name"] == "CVE-2021-44228"
    assert obj["id"] == f"vulnerability--{indicator_uuid('cve', 'CVE-2021-44228')}"
    assert obj["external_references"][0]["source_name"] == "cve"
    assert obj["external_references"][0]["external_id"] == "CVE-2021-44228"
    assert "pattern" not in obj


def test_attack_technique_is_an_attack_pattern_and_tactics_are_not_exported():
    obj = stix_object(make_row("mitre-attack", "T1059.001"), None, now=NOW)
    assert obj["type"] == "attack-pattern" and obj["name"] == "PowerShell"
    reference = obj["external_references"][0]
    assert reference["source_name"] == "mitre-attack" and reference["external_id"] == "T1059.001"
    assert reference["url"] == "https://attack.mitre.org/techniques/T1059/001/"
    assert obj["kill_chain_phases"] == [{"kill_chain_name": "mitre-attack", "phase_name": "execution"}]
    assert stix_object(make_row("mitre-attack", "TA0011"), None, now=NOW) is None


def test_withdrawn_and_expired_indicators():
    by_value = {row.value: stix_object(row, None, now=NOW) for row in every_row()}
    assert by_value["revoked.example"]["revoked"] is True
    assert by_value["fp.example"]["revoked"] is True
    assert "false positive (top domains)" in by_value["fp.example"]["description"]
    expired = by_value["old.example"]
    assert "revoked" not in expired
    assert expired["valid_until"] == expired["modified"] > expired["valid_from"]


def test_default_tlp_follows_confidence_per_object():
    bundle = bundle_of(every_row())
    objects = objects_by_id(bundle)
    marking_of = {obj.get("name"): obj["object_marking_refs"] for obj in objects.values() if "pattern" in obj}
    assert marking_of["IPv4 address 203.0.113.7"] == [TLP_MARKING_IDS["green"]]  # high
    assert marking_of["Domain old.example"] == [TLP_MARKING_IDS["clear"]]  # low
    cve = next(o for o in objects.values() if o["type"] == "vulnerability")
    assert cve["object_marking_refs"] == [TLP_MARKING_IDS["amber"]]  # medium
    markings = {o["id"]: o for o in bundle["objects"] if o["type"] == "marking-definition"}
    assert set(markings) == {TLP_MARKING_IDS[level] for level in ("green", "amber", "clear")}
    assert markings[TLP_MARKING_IDS["green"]]["name"] == "TLP:GREEN"
    assert_valid(bundle)


@pytest.mark.parametrize("level", ["clear", "green", "amber", "amber+strict", "red"])
def test_tlp_override_marks_every_object_and_includes_only_that_marking(level):
    bundle = bundle_of(every_row(), tlp=level)
    markings = [o for o in bundle["objects"] if o["type"] == "marking-definition"]
    assert [m["id"] for m in markings] == [TLP_MARKING_IDS[level]]
    extension = markings[0]["extensions"]["extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"]
    assert extension == {"extension_type": "property-extension", "tlp_2_0": level}
    assert markings[0]["name"] == f"TLP:{level.upper()}"
    for obj in bundle["objects"]:
        if obj["type"] not in ("marking-definition", "identity"):
            assert obj["object_marking_refs"] == [TLP_MARKING_IDS[level]]
    assert_valid(bundle)


def test_standard_tlp_ids():
    assert TLP_MARKING_IDS == {
        "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    }


def test_bundle_shape_and_order():
    bundle = bundle_of(every_row())
    assert bundle["type"] == "bundle" and bundle["id"].startswith("bundle--")
    assert bundle["objects"][0] == PRODUCER_IDENTITY
    assert PRODUCER_IDENTITY["identity_class"] == "organization"
    seen_markings: set[str] = set()
    for obj in bundle["objects"]:  # every marking is defined before the first object using it
        if obj["type"] == "marking-definition":
            seen_markings.add(obj["id"])
        for ref in obj.get("object_marking_refs", []):
            assert ref in seen_markings
    kinds = [o["type"] for o in bundle["objects"]]
    assert kinds.count("indicator") == 13 and kinds.count("vulnerability") == 1
    assert kinds.count("attack-pattern") == 1  # the tactic TA0011 has none
    assert_valid(bundle)


def test_empty_bundle_is_valid():
    chunks = list(stream_bundle([], now=NOW))
    bundle = json.loads(b"".join(chunks))
    assert bundle["objects"] == [PRODUCER_IDENTITY]
    assert_valid(bundle)


def test_stream_writes_one_chunk_per_batch():
    rows = [make_row("ipv4", f"198.51.100.{i}", i) for i in range(1, 11)]
    batches = [[(row, None) for row in rows[i : i + 3]] for i in range(0, 10, 3)]
    chunks = list(stream_bundle(batches, now=NOW))
    assert len(chunks) == 1 + 4 + 1  # head, four batches, tail
    assert_valid(json.loads(b"".join(chunks)))
