"""MISP event export: the type map, to_ids, categories, galaxy tags, and PyMISP reading every attribute."""

from __future__ import annotations

import json
from dataclasses import replace

from pymisp import MISPEvent

from iocfeed.exports.misp import MISP_TYPES, attack_tag, event_uuid, misp_event_chunks
from iocfeed.store.queries import IndicatorRow, SourceRef
from iocfeed.store.upsert import indicator_uuid
from iocfeed.timeutil import MICROS_PER_DAY, parse_instant

SEEN = parse_instant("2026-03-01T12:00:00Z")
NOW = SEEN + MICROS_PER_DAY
SOURCE = SourceRef(1, "Gov Alerts", "government", "article", 85, SEEN, "a1", "Advisory AA26-001A",
                   "https://gov.example/aa26-001a", None, SEEN, None, "raw")  # fmt: skip

EVERY_TYPE = {
    "ipv4": "203.0.113.7",
    "ipv6": "2001:db8::7",
    "domain": "malware.example-bad.com",
    "url": "http://phish.example-bad.net/login.php?id=1",
    "md5": "0" * 31 + "1",
    "sha1": "0" * 39 + "1",
    "sha256": "0" * 63 + "1",
    "sha512": "0" * 127 + "1",
    "email": "billing@invoice-fraud.example.org",
    "cve": "CVE-2021-44228",
}


def make_row(type_: str, value: str, **changes: object) -> IndicatorRow:
    row = IndicatorRow(
        pk=1, id=indicator_uuid(type_, value), type=type_, value=value, status="active", status_reason=None,
        base_score=80.0, score=80, confidence="high", first_seen=SEEN, last_seen=SEEN, updated_at=SEEN,
        source_count=1, industries="[]", tags="[]", mitre_techniques="[]", context=None, best_sighting=1,
        best_government_sighting=1, best_commercial_sighting=None, best_community_sighting=None,
    )  # fmt: skip
    return replace(row, **changes)


def export(rows: list[IndicatorRow], *, batch: int = 100, key: str = "{}") -> tuple[list[bytes], dict]:
    batches = [[(row, SOURCE) for row in rows[i : i + batch]] for i in range(0, len(rows), batch)]
    chunks = list(misp_event_chunks(batches, info="test export", export_key=key, now=NOW))
    return chunks, json.loads(b"".join(chunks))


def attributes_by_value(event: dict) -> dict[str, dict]:
    return {attribute["value"]: attribute for attribute in event["Event"]["Attribute"]}


def tag_names(tagged: dict) -> list[str]:
    return [tag["name"] for tag in tagged["Tag"]]


def test_every_type_has_the_documented_misp_type_and_category():
    _, event = export([make_row(t, v) for t, v in EVERY_TYPE.items()])
    by_value = attributes_by_value(event)
    expected = {
        "ipv4": ("ip-dst", "Network activity"),
        "ipv6": ("ip-dst", "Network activity"),
        "domain": ("domain", "Network activity"),
        "url": ("url", "Network activity"),
        "md5": ("md5", "Payload delivery"),
        "sha1": ("sha1", "Payload delivery"),
        "sha256": ("sha256", "Payload delivery"),
        "sha512": ("sha512", "Payload delivery"),
        "email": ("email-src", "Payload delivery"),
        "cve": ("vulnerability", "External analysis"),
    }
    assert expected == MISP_TYPES
    for type_, value in EVERY_TYPE.items():
        attribute = by_value[value]
        assert (attribute["type"], attribute["category"]) == expected[type_], type_


def test_to_ids_is_true_for_active_indicators_and_false_for_cves_and_inactive_ones():
    rows = [
        make_row("ipv4", "203.0.113.7"),
        make_row("cve", "CVE-2021-44228"),
        make_row("ipv4", "203.0.113.8", status="revoked"),
        make_row("domain", "old.example-bad.com", status="expired"),
        make_row("sha256", "f" * 64, status="false-positive"),
    ]
    by_value = attributes_by_value(export(rows)[1])
    assert by_value["203.0.113.7"]["to_ids"] is True
    assert by_value["CVE-2021-44228"]["to_ids"] is False
    assert by_value["203.0.113.8"]["to_ids"] is False
    assert 'iocfeed:status="revoked"' in tag_names(by_value["203.0.113.8"])
    assert by_value["old.example-bad.com"]["to_ids"] is False
    assert by_value["f" * 64]["to_ids"] is False


def test_attack_ids_become_galaxy_tags_on_the_event_not_attributes():
    rows = [
        make_row("ipv4", "203.0.113.7", mitre_techniques='["T1071", "TA0011"]'),
        make_row("mitre-attack", "T1059"),
        make_row("mitre-attack", "T1059.001"),
    ]
    event = export(rows)[1]["Event"]
    assert [a["value"] for a in event["Attribute"]] == ["203.0.113.7"]
    event_tags = tag_names(event)
    assert 'misp-galaxy:mitre-attack-pattern="Command and Scripting Interpreter - T1059"' in event_tags
    assert 'misp-galaxy:mitre-attack-pattern="PowerShell - T1059.001"' in event_tags
    assert 'misp-galaxy:mitre-attack-pattern="Application Layer Protocol - T1071"' in event_tags
    assert 'mitre-attack:tactic="Command and Control - TA0011"' in event_tags
    # The attribute keeps its own techniques, for consumers that read attributes one at a time.
    assert 'misp-galaxy:mitre-attack-pattern="Application Layer Protocol - T1071"' in tag_names(
        event["Attribute"][0]
    )


def test_attack_tag_for_ics_and_unknown_ids():
    assert attack_tag("T0800") is not None and attack_tag("T0800").startswith(
        "misp-galaxy:mitre-ics-techniques="
    )
    assert attack_tag("T9999") is None


def test_tags_carry_tlp_confidence_source_category_and_record_tags():
    rows = [
        make_row("domain", "a.example-bad.com", tags='["c2", "botnet"]'),
        make_row("domain", "b.example-bad.com", confidence="medium"),
        make_row("domain", "c.example-bad.com", confidence="low"),
    ]
    event = export(rows)[1]["Event"]
    by_value = attributes_by_value({"Event": event})
    assert tag_names(by_value["a.example-bad.com"]) == [
        "tlp:green",
        'iocfeed:confidence="high"',
        'iocfeed:source-category="government"',
        "c2",
        "botnet",
    ]
    assert tag_names(by_value["b.example-bad.com"])[0] == "tlp:amber"
    assert tag_names(by_value["c.example-bad.com"])[0] == "tlp:clear"
    assert tag_names(event)[0] == "tlp:amber"  # the most restrictive of its attributes


def test_uuids_are_deterministic_per_event_and_distinct_between_events():
    rows = [make_row("ipv4", "203.0.113.7")]
    first = export(rows, key='{"type":["ipv4"]}')[1]["Event"]
    again = export(rows, key='{"type":["ipv4"]}')[1]["Event"]
    other = export(rows, key='{"type":["ipv4","ipv6"]}')[1]["Event"]
    assert first["uuid"] == again["uuid"] == event_uuid('{"type":["ipv4"]}')
    assert first["Attribute"][0]["uuid"] == again["Attribute"][0]["uuid"]
    assert other["uuid"] != first["uuid"]
    assert other["Attribute"][0]["uuid"] != first["Attribute"][0]["uuid"]


def test_attributes_are_written_batch_by_batch():
    rows = [make_row("ipv4", f"198.51.100.{i}") for i in range(1, 26)]
    chunks, event = export(rows, batch=10)
    assert len(chunks) == 1 + 3 + 1  # head, three batches, event tags
    assert len(event["Event"]["Attribute"]) == 25


def test_empty_export_is_a_valid_event():
    chunks = list(misp_event_chunks([], info="nothing", export_key="{}", now=NOW))
    event = json.loads(b"".join(chunks))["Event"]
    assert event["Attribute"] == []
    assert tag_names(event) == ["tlp:clear"]


def test_pymisp_loads_the_event_and_every_attribute_survives():
    rows = [
        make_row(t, v, context='C2 "quoted" <named> in advisory', tags='["c2"]', mitre_techniques='["T1071"]')
        for t, v in EVERY_TYPE.items()
    ]
    rows.append(make_row("mitre-attack", "T1566"))
    _, exported = export(rows, batch=3)
    event = MISPEvent()
    event.load(json.dumps(exported))
    assert event.info == "test export"
    assert event.uuid == exported["Event"]["uuid"]
    assert event.published is False
    assert len(event.attributes) == len(EVERY_TYPE)
    written = attributes_by_value(exported)
    for attribute in event.attributes:
        original = written[attribute.value]
        assert attribute.type == original["type"]
        assert attribute.category == original["category"]  # PyMISP drops a category invalid for the type
        assert attribute.to_ids == original["to_ids"]
        assert attribute.uuid == original["uuid"]
        assert attribute.comment == original["comment"]
        assert attribute.first_seen.isoformat().startswith("2026-03-01T12:00:00")
        assert [tag.name for tag in attribute.tags] == tag_names(original)
    assert 'misp-galaxy:mitre-attack-pattern="Phishing - T1566"' in [tag.name for tag in event.tags]
    # And PyMISP writes it back out with the same attributes (what a MISP push would send).
    again = MISPEvent()
    again.load(event.to_json())
    assert sorted(a.uuid for a in again.attributes) == sorted(a["uuid"] for a in written.values())
