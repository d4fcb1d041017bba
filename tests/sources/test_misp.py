"""MISP feed reader: the manifest, attribute types, to_ids, tags and galaxies, and a large event."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path

import pytest

from iocfeed.errors import ImportFormatError
from iocfeed.sources.files import READERS, guess_format, read_file
from iocfeed.sources.readers import misp
from iocfeed.sources.records import ReaderOptions

FEED = Path(__file__).parent.parent / "fixtures" / "feeds" / "misp"
CAMPAIGN = FEED / "4decdb1e-e7e1-4f83-bb11-8bbc0f9bae39.json"
VPN = FEED / "0305c01e-09fb-4d4a-9d41-c9e9ce7cf4ca.json"


def read(path: Path, options: ReaderOptions | None = None) -> list:
    with open(path, "rb") as stream:
        return list(misp.read(stream, options))


def event(*attributes: dict, objects: tuple = (), **fields) -> io.BytesIO:
    body = {"info": "test event", "date": "2025-01-10", **fields, "Attribute": list(attributes)}
    if objects:
        body["Object"] = list(objects)
    return io.BytesIO(json.dumps({"Event": body}).encode())


def attribute(misp_type: str, value: str, **extra) -> dict:
    return {"type": misp_type, "value": value, "to_ids": True, **extra}


def typed(records) -> list[tuple[str | None, str]]:
    return [(r.type, r.value) for r in records if not r.error]


# ------------------------------------------------------------------------------------------ manifest
def test_manifest_lists_events_with_their_timestamps():
    with open(FEED / "manifest.json", "rb") as stream:
        entries = list(misp.read_manifest(stream))
    assert [e.uuid for e in entries] == [CAMPAIGN.stem, VPN.stem]
    first = entries[0]
    assert first.info.startswith("OSINT - NorthLoader") and first.date == "2025-02-27"
    assert first.timestamp == 1740990000  # written as a string in the feed
    assert first.tags == ("type:OSINT", "tlp:white")


def test_manifest_refuses_keys_that_are_not_uuids(caplog):
    data = {
        "../../etc/passwd": {"info": "x", "timestamp": "1"},
        "4decdb1e-e7e1-4f83-bb11-8bbc0f9bae39": {"info": "ok", "timestamp": 1740990000},
        "0305c01e-09fb-4d4a-9d41-c9e9ce7cf4ca": "not a summary",
    }
    entries = list(misp.read_manifest(io.BytesIO(json.dumps(data).encode())))
    assert [(e.uuid, e.timestamp, e.date) for e in entries] == [
        ("4decdb1e-e7e1-4f83-bb11-8bbc0f9bae39", 1740990000, None)
    ]
    assert "passed over" in caplog.text
    with pytest.raises(ImportFormatError, match="keyed by event uuid"):
        list(misp.read_manifest(io.BytesIO(b"[]")))
    with pytest.raises(ImportFormatError, match="invalid MISP manifest"):
        list(misp.read_manifest(io.BytesIO(b'{"4decdb1e-e7e1-4f83-bb11-8bbc0f9bae39": {')))


def test_event_urls_sit_beside_the_manifest():
    base = "https://www.circl.lu/doc/misp/feed-osint/"
    uuid = "4DECDB1E-E7E1-4F83-BB11-8BBC0F9BAE39"
    assert misp.manifest_url(base) == base + "manifest.json"
    assert misp.manifest_url(base.rstrip("/")) == base + "manifest.json"
    assert misp.event_url(base, uuid) == base + uuid.lower() + ".json"
    assert misp.event_url(base + "manifest.json", uuid) == base + uuid.lower() + ".json"
    with pytest.raises(ValueError):
        misp.event_url(base, "../secret")


# ------------------------------------------------------------------------------------------ types
@pytest.mark.parametrize(
    ("misp_type", "value", "expected"),
    [
        ("ip-dst", "45.137.21.9", [("ip", "45.137.21.9")]),
        ("ip-src", "2a0e:97c0:3e2:51::17", [("ip", "2a0e:97c0:3e2:51::17")]),
        ("ip-dst|port", "45.137.21.9|443", [("ip", "45.137.21.9")]),
        ("ip-src|port", "2a0e:97c0:3e2:51::17|8443", [("ip", "2a0e:97c0:3e2:51::17")]),
        ("domain", "files-share-eu.top", [("domain", "files-share-eu.top")]),
        ("hostname", "mail.files-share-eu.top", [("domain", "mail.files-share-eu.top")]),
        ("hostname|port", "mail.files-share-eu.top|25", [("domain", "mail.files-share-eu.top")]),
        (
            "domain|ip",
            "files-share-eu.top|77.91.124.55",
            [("domain", "files-share-eu.top"), ("ip", "77.91.124.55")],
        ),
        ("url", "https://files-share-eu.top/a", [("url", "https://files-share-eu.top/a")]),
        ("md5", "eaf3723d8775d2271f9d7905c0943353", [("md5", "eaf3723d8775d2271f9d7905c0943353")]),
        ("sha1", "AB" * 20, [("sha1", "AB" * 20)]),  # not lower-cased: readers never canonicalize
        ("sha256", "cd" * 32, [("sha256", "cd" * 32)]),
        ("sha512", "ef" * 64, [("sha512", "ef" * 64)]),
        ("filename|md5", "a.exe|" + "01" * 16, [("md5", "01" * 16)]),
        ("filename|sha1", "a.exe|" + "01" * 20, [("sha1", "01" * 20)]),
        ("filename|sha256", "a|b.exe|" + "01" * 32, [("sha256", "01" * 32)]),  # the hash is the last part
        ("filename|sha512", "a.exe|" + "01" * 64, [("sha512", "01" * 64)]),
        ("malware-sample", "a.exe|" + "01" * 16, [("md5", "01" * 16)]),
        ("email", "a@staffportal-mail.com", [("email", "a@staffportal-mail.com")]),
        ("email-src", "a@staffportal-mail.com", [("email", "a@staffportal-mail.com")]),
        ("email-dst", "b@staffportal-mail.com", [("email", "b@staffportal-mail.com")]),
        ("email-reply-to", "c@staffportal-mail.com", [("email", "c@staffportal-mail.com")]),
        ("vulnerability", "CVE-2025-0282", [("cve", "CVE-2025-0282")]),
        ("url", "hxxps://files-share-eu[.]top/a", [("url", "hxxps://files-share-eu[.]top/a")]),  # as written
    ],
)
def test_attribute_type_mapping(misp_type, value, expected):
    assert typed(misp.read(event(attribute(misp_type, value)))) == expected


@pytest.mark.parametrize(
    "misp_type", ["link", "uri", "comment", "text", "other", "AS", "filename", "regkey", "ssdeep"]
)
def test_other_types_are_skipped_rows_naming_the_type(misp_type):
    [record] = misp.read(event(attribute(misp_type, "x")))
    assert (
        record.skipped and record.error == f"MISP type {misp_type!r} is not an indicator type iocfeed stores"
    )
    assert record.value == "x" and record.type is None


def test_a_composite_value_without_its_separator_is_an_error():
    [record] = misp.read(event(attribute("domain|ip", "files-share-eu.top")))
    assert record.error == "a domain|ip value has 2 parts joined by |" and not record.skipped


# ------------------------------------------------------------------------------------------ to_ids
def test_to_ids_false_is_skipped_unless_asked_for():
    stream = lambda: event(  # noqa: E731
        attribute("ip-dst", "45.137.21.9", to_ids=False),
        attribute("ip-dst", "45.137.21.10"),
        attribute("ip-dst", "45.137.21.11", to_ids="0"),
        {"type": "ip-dst", "value": "45.137.21.12"},  # no to_ids: counts as true
        attribute("vulnerability", "CVE-2025-0282", to_ids=False),  # CVEs are read regardless
    )
    records = list(misp.read(stream()))
    assert typed(records) == [("ip", "45.137.21.10"), ("ip", "45.137.21.12"), ("cve", "CVE-2025-0282")]
    skipped = [r for r in records if r.skipped]
    assert [r.value for r in skipped] == ["45.137.21.9", "45.137.21.11"]
    assert all(r.error.startswith("to_ids is false") for r in skipped)
    everything = misp.read(stream(), ReaderOptions(include_non_ids=True))
    assert len(typed(everything)) == 5


def test_deleted_attributes_and_objects_are_skipped():
    [record] = misp.read(event(attribute("ip-dst", "45.137.21.9", deleted=True)))
    assert record.skipped and record.error == "the attribute is deleted"
    objects = (
        {"name": "domain-ip", "deleted": True, "Attribute": [attribute("domain", "files-share-eu.top")]},
        {"name": "domain-ip", "deleted": False, "Attribute": [attribute("domain", "cdn-sync-metrics.net")]},
    )
    gone, kept = misp.read(event(objects=objects))
    assert gone.skipped and gone.value == "files-share-eu.top"
    assert (kept.error, kept.value) == (None, "cdn-sync-metrics.net")


# ------------------------------------------------------------------------------------------ fields
def test_campaign_event_fields():
    records = read(CAMPAIGN)
    by_value = {r.value: r for r in records if not r.error}
    c2 = by_value["45.137.21.9"]
    assert c2.location == "05fd3573-7500-44e5-b83f-f1f9c1038b6f"
    assert c2.type == "ip"
    assert c2.tags == ["type:OSINT", "tlp:white", 'misp-galaxy:threat-actor="NorthWind Spider"']
    assert c2.mitre_techniques == ["T1566.001", "T1204.002"]  # from the event's galaxy tags
    assert c2.context == "OSINT - NorthLoader campaign targets logistics firms with invoice lures: C2 server"
    assert c2.first_seen == "2025-03-03T08:05:00Z"  # the attribute's unix timestamp 1740989100
    assert c2.last_seen is None
    domain = by_value["secure-docview-portal.com"]
    assert domain.tags[-1] == "phishing"  # the attribute's own tag after the event's
    assert domain.context == "OSINT - NorthLoader campaign targets logistics firms with invoice lures"
    url = by_value["hxxps://cdn-sync-metrics[.]net/stage2.bin"]
    assert url.first_seen == "2025-02-20T14:05:00.000000+00:00"  # first_seen beats timestamp
    assert url.last_seen == "2025-02-26T09:00:00.000000+00:00"
    assert by_value["cdn-sync-metrics.net"].location == by_value["193.233.20.12"].location  # domain|ip
    assert by_value["invoices@northbay-freight-billing.com"].type == "email"
    assert by_value["df58583fea9ebccaa869d2e315d04cd4fb9f185d3a70e6327d24c81060748e22"].type == "sha256"


def test_campaign_event_objects_and_skips():
    records = read(CAMPAIGN)
    object_values = [
        (r.type, r.value[:12]) for r in records if r.location.startswith("a3c2a3b0") and not r.error
    ]
    assert object_values == [
        ("domain", "mail.northba"),  # a top-level hostname attribute
        ("md5", "eaf3723d8775"),
        ("sha1", "928263300edc"),
        ("sha256", "fa24fc336bc3"),
        ("domain", "files-share-"),
        ("ip", "77.91.124.55"),
    ]
    skipped = {r.value[:20]: r.error for r in records if r.skipped}
    assert skipped == {
        "https://research.nor": "MISP type 'link' is not an indicator type iocfeed stores",
        "0b4a3467c576f6c77722": "to_ids is false (context, not for detection)",
        "The lures impersonat": "MISP type 'text' is not an indicator type iocfeed stores",
        "northloader.dll": "MISP type 'filename' is not an indicator type iocfeed stores",
    }
    assert len(records) == 18


def test_vpn_event_attribute_galaxy_tags_and_fallback_date():
    records = read(VPN)
    by_value = {r.value: r for r in records}
    scanner = by_value["103.131.57.202"]
    assert scanner.mitre_techniques == ["T1190", "T1595"]  # event galaxy, then the attribute's
    assert scanner.tags == ["tlp:white"]
    assert by_value["CVE-2025-0282"].type == "cve"
    assert by_value["103.131.57.203"].skipped  # deleted
    assert by_value["AS215540"].skipped
    no_timestamp = misp.read(event(attribute("ip-dst", "45.137.21.9"), date="2024-12-31"))
    assert next(no_timestamp).first_seen == "2024-12-31"  # the event's date


def test_positions_locate_attributes_without_uuids():
    objects = ({"name": "file", "Attribute": [attribute("md5", "01" * 16), attribute("sha1", "02" * 20)]},)
    records = list(misp.read(event(attribute("ip-dst", "45.137.21.9"), objects=objects)))
    assert [r.location for r in records] == ["Attribute 1", "Object 1 Attribute 1", "Object 1 Attribute 2"]


def test_not_an_event_and_broken_json():
    with pytest.raises(ImportFormatError, match='no top-level "Event"'):
        list(misp.read(io.BytesIO(b'{"response": []}')))
    with pytest.raises(ImportFormatError, match="invalid MISP event"):
        list(misp.read(io.BytesIO(b'{"Event": {"Attribute": [{"type": "ip-dst", "value": "1.2.3.4"}')))
    records = list(misp.read(event(attribute("ip-dst", "45.137.21.9"), "oops", ["a", {"b": 1}], None)))
    assert records[0].value == "45.137.21.9"
    assert [(r.location, r.error) for r in records[1:]] == [
        ("Attribute 2", "the attribute is not a JSON object"),
        ("Attribute 3", "the attribute is not a JSON object"),
        ("Attribute 4", "the attribute is not a JSON object"),
    ]


def test_registered_and_guessed(tmp_path):
    assert READERS["misp"].binary
    assert len(list(read_file(CAMPAIGN, "misp", ReaderOptions()))) == 18
    assert guess_format(CAMPAIGN) == "misp"
    assert guess_format(FEED / "manifest.json") == "json"  # a manifest lists events; it holds no records


# ------------------------------------------------------------------------------------------ streaming
def test_a_large_event_is_read_with_bounded_memory(tmp_path):
    count = 15_000
    path = tmp_path / "large.json"
    with open(path, "w") as out:
        out.write(
            '{"Event": {"info": "large", "date": "2025-01-01", "Tag": [{"name": "tlp:white"}], "Attribute": ['
        )
        for i in range(count):
            item = attribute(
                "ip-dst",
                f"45.{i // 65536}.{i // 256 % 256}.{i % 256}",
                uuid=f"00000000-0000-4000-8000-{i:012d}",
                timestamp="1740989100",
                category="Network activity",
                comment="generated " + "x" * 1000,
            )
            out.write(("," if i else "") + json.dumps(item))
        out.write("]}}")
    size = path.stat().st_size
    tracemalloc.start()
    try:
        with open(path, "rb") as stream:
            seen = sum(1 for record in misp.read(stream) if record.error is None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count
    print(f"MISP event: {size} bytes, {count} attributes, tracemalloc peak {peak} bytes")
    assert size > 15_000_000
    assert peak < size / 20, f"peak {peak} bytes for a {size}-byte event"
