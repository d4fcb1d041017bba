"""STIX 2.1 reader: patterns, observables, vulnerabilities, ATT&CK, and streaming a large bundle."""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
from pathlib import Path

import pytest

from iocfeed.errors import ImportFormatError
from iocfeed.sources.files import READERS, guess_format, read_file
from iocfeed.sources.readers import stix
from iocfeed.sources.readers.stix import PatternError, PatternTerm, parse_pattern
from iocfeed.sources.records import ReaderOptions

FEEDS = Path(__file__).parent.parent / "fixtures" / "feeds"
BUNDLE = FEEDS / "stix21_bundle.json"


def read_bundle() -> list:
    with open(BUNDLE, "rb") as stream:
        return list(stix.read(stream))


def by_location(records, prefix: str) -> list:
    return [r for r in records if r.location.startswith(prefix)]


def document(*objects: dict) -> io.BytesIO:
    return io.BytesIO(json.dumps({"type": "bundle", "id": "bundle--1", "objects": list(objects)}).encode())


def indicator(pattern: str, **extra) -> dict:
    return {"type": "indicator", "id": "indicator--x", "pattern": pattern, "pattern_type": "stix", **extra}


# ------------------------------------------------------------------------------------------ patterns
@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[ipv4-addr:value = '45.137.21.9']", [("ipv4", "45.137.21.9")]),
        ("[ipv6-addr:value = '2a0e:97c0:3e2:51::17']", [("ipv6", "2a0e:97c0:3e2:51::17")]),
        ("[domain-name:value = 'files-share-eu.top']", [("domain", "files-share-eu.top")]),
        ("[url:value = 'http://files-share-eu.top/a']", [("url", "http://files-share-eu.top/a")]),
        ("[email-addr:value = 'a@staffportal-mail.com']", [("email", "a@staffportal-mail.com")]),
        ("[file:hashes.MD5 = 'aa']", [("md5", "aa")]),
        ("[file:hashes.'MD5' = 'aa']", [("md5", "aa")]),
        ("[file:hashes.'SHA-1' = 'bb']", [("sha1", "bb")]),
        ("[file:hashes.SHA1 = 'bb']", [("sha1", "bb")]),
        ("[file:hashes.'SHA-256' = 'cc']", [("sha256", "cc")]),
        ("[file:hashes.sha256 = 'cc']", [("sha256", "cc")]),
        ("[file:hashes.'SHA-512' = 'dd']", [("sha512", "dd")]),
        ("  [ file:hashes . 'SHA-256'  =  'cc' ]  ", [("sha256", "cc")]),
        (
            "[ipv4-addr:value = '77.91.124.55' OR ipv4-addr:value = '77.91.124.56']",
            [("ipv4", "77.91.124.55"), ("ipv4", "77.91.124.56")],
        ),
        (
            "[ipv4-addr:value = '77.91.124.55'] OR ([domain-name:value = 'a.top'] OR [url:value = 'http://a.top/'])",
            [("ipv4", "77.91.124.55"), ("domain", "a.top"), ("url", "http://a.top/")],
        ),
        (
            "[(ipv4-addr:value = '77.91.124.55' OR ipv6-addr:value = '2a0e::1')]",
            [("ipv4", "77.91.124.55"), ("ipv6", "2a0e::1")],
        ),
        (
            "[ipv4-addr:value IN ('77.91.124.55', '77.91.124.56')]",
            [("ipv4", "77.91.124.55"), ("ipv4", "77.91.124.56")],
        ),
    ],
)
def test_supported_patterns(pattern, expected):
    assert [(t.type, t.value) for t in parse_pattern(pattern)] == expected


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r"'http://a.top/o\'brien'", "http://a.top/o'brien"),
        (r"'http://a.top/a\\b'", "http://a.top/a\\b"),
        (r"'\\\''", "\\'"),
        (r"'it\'s \\ ok'", "it's \\ ok"),
        ("''", ""),
    ],
)
def test_string_literal_escapes(literal, value):
    [term] = parse_pattern(f"[url:value = {literal}]")
    assert term == PatternTerm("url", value)
    # The same literal through the full parser (an OR defeats the single-comparison fast path).
    terms = parse_pattern(f"[url:value = {literal} OR url:value = 'x']")
    assert terms[0] == PatternTerm("url", value)


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("[ipv4-addr:value = '1.2.3.4' AND domain-name:value = 'a.top']", "ANDed comparisons"),
        ("[ipv4-addr:value = '1.2.3.4'] AND [domain-name:value = 'a.top']", "ANDed observation expressions"),
        ("[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [url:value = 'http://a.top/']", "FOLLOWEDBY"),
        ("[domain-name:value LIKE '%.a.top']", "the LIKE operator"),
        ("[domain-name:value MATCHES '^a']", "the MATCHES operator"),
        ("[ipv4-addr:value ISSUBSET '185.234.72.0/24']", "the ISSUBSET operator"),
        ("[ipv4-addr:value ISSUPERSET '185.234.72.0/24']", "the ISSUPERSET operator"),
        ("[ipv4-addr:value != '1.2.3.4']", "the != operator"),
        ("[file:size > 1000]", "the > operator"),
        ("[ipv4-addr:value NOT = '1.2.3.4']", "the NOT = operator"),
        ("[ipv4-addr:value NOT IN ('1.2.3.4')]", "the NOT IN operator"),
        ("[ipv4-addr:value = '1.2.3.4'] WITHIN 600 SECONDS", "WITHIN qualifier"),
        ("[ipv4-addr:value = '1.2.3.4'] REPEATS 5 TIMES", "REPEATS qualifier"),
        (
            "[ipv4-addr:value = '1.2.3.4'] START t'2025-01-01T00:00:00Z' STOP t'2025-02-01T00:00:00Z'",
            "START qualifier",
        ),
        ("[EXISTS windows-registry-key:key]", "EXISTS"),
        ("[file:name = 'invoice.exe']", "file:name is not a property iocfeed reads"),
        ("[file:hashes.'SSDEEP' = '96:x:y']", "file:hashes.SSDEEP is not a property"),
        ("[network-traffic:dst_ref.value = '1.2.3.4']", "network-traffic:dst_ref.value is not"),
        ("[windows-registry-key:values[*].data = 'x']", "windows-registry-key:values[*].data is not"),
        ("[ipv4-addr:value = 42]", "non-string literal"),
    ],
)
def test_unsupported_patterns_name_the_reason(pattern, problem):
    [term] = parse_pattern(pattern)
    assert term.type is None and term.value is None and problem in term.problem


def test_an_or_keeps_its_usable_parts_and_reports_the_rest():
    terms = parse_pattern(
        "[ipv4-addr:value = '1.2.3.4' OR file:name = 'a.exe' OR url:value = 'http://a.top/']"
    )
    assert [(t.type, t.value) for t in terms if not t.problem] == [
        ("ipv4", "1.2.3.4"),
        ("url", "http://a.top/"),
    ]
    assert [t.problem for t in terms if t.problem] == ["file:name is not a property iocfeed reads"]


@pytest.mark.parametrize(
    "pattern",
    [
        "[ipv4-addr:value = '1.2.3.4'",
        "ipv4-addr:value = '1.2.3.4'",
        "[ipv4-addr:value = '1.2.3.4]",
        "[ipv4-addr:value = 'C:\\temp']",  # \t is not an escape the grammar knows
        "[ipv4-addr:value '1.2.3.4']",
        "[ipv4-addr:value = '1.2.3.4'] OR",
        "[ipv4-addr:value = '1.2.3.4'] extra",
        "[]",
    ],
)
def test_malformed_patterns_raise(pattern):
    with pytest.raises(PatternError):
        parse_pattern(pattern)


# ------------------------------------------------------------------------------------------ the bundle
def test_bundle_indicators():
    records = read_bundle()
    [c2] = by_location(records, "indicator--6b8f36d8")
    assert (c2.value, c2.type, c2.error) == ("45.137.21.9", "ipv4", None)
    assert c2.first_seen == "2025-03-01T00:00:00Z"  # valid_from, not created
    assert c2.tags == ["c2", "cobalt-strike", "malicious-activity"]  # labels + indicator_types
    assert c2.context == "Cobalt Strike team server seen in the March campaign"
    assert c2.reference_url == "https://research.northwind-intel.com/reports/nw-2025-03"  # not ATT&CK's
    assert c2.mitre_techniques == ["T1071.001"]
    domain, url = by_location(records, "indicator--1b1aef5f")
    assert (domain.type, domain.value) == ("domain", "secure-docview-portal.com")
    assert (url.type, url.value) == ("url", "https://secure-docview-portal.com/login/index.php?id=77")
    assert domain.context == "Phishing landing page"  # no description: the name
    assert [(r.type, r.value[:8]) for r in by_location(records, "indicator--715d611f")] == [
        ("sha256", "fa24fc33"),
        ("md5", "eaf3723d"),
    ]
    assert [r.type for r in by_location(records, "indicator--b7a936f8")] == ["sha1", "sha512"]
    [email] = by_location(records, "indicator--5cadd500")
    assert (email.type, email.value) == ("email", "invoices@northbay-freight-billing.com")
    [quoted] = by_location(records, "indicator--2f87374a")
    assert quoted.value == "http://91.92.251.103/dl/o'brien\\invoice.exe"
    [v6] = by_location(records, "indicator--6b39f004")
    assert (v6.type, v6.value) == ("ipv6", "2a0e:97c0:3e2:51::17")
    assert [r.value for r in by_location(records, "indicator--5c6c7d8c")] == ["77.91.124.55", "77.91.124.56"]


def test_bundle_unsupported_patterns_are_counted_with_their_object_id():
    errors = {r.location: r for r in read_bundle() if r.error and not r.skipped}
    assert set(errors) == {
        "indicator--d5e882a3-ff69-4841-a9d2-a02bd2df1cd7",  # AND
        "indicator--5c846ef6-deca-4df1-ba7c-509210805da8",  # FOLLOWEDBY ... WITHIN
        "indicator--06d8c696-dc92-4198-8628-a0c8cdc094b1",  # MATCHES
        "indicator--344faecd-a226-4f58-89ae-1794f3883d6f",  # ISSUBSET (a range)
        "indicator--8dc62247-dc07-4ac7-8d8f-ae8d9f61a9c0",  # pattern_type sigma
    }
    assert errors["indicator--d5e882a3-ff69-4841-a9d2-a02bd2df1cd7"].error == (
        "unsupported STIX pattern: ANDed comparisons"
    )
    assert "FOLLOWEDBY" in errors["indicator--5c846ef6-deca-4df1-ba7c-509210805da8"].error
    assert (
        errors["indicator--8dc62247-dc07-4ac7-8d8f-ae8d9f61a9c0"].error == "pattern_type 'sigma' is not read"
    )
    # The pattern is the value shown in the rejection report.
    assert errors["indicator--344faecd-a226-4f58-89ae-1794f3883d6f"].value.startswith(
        "[ipv4-addr:value ISSUBSET"
    )
    assert all(r.type is None for r in errors.values())


def test_bundle_revoked_indicator_is_a_skipped_row():
    [revoked] = by_location(read_bundle(), "indicator--c0dd02b3")
    assert revoked.skipped and revoked.error == "the indicator is revoked"
    assert revoked.value == "[ipv4-addr:value = '185.234.72.19']"


def test_bundle_observables():
    records = read_bundle()
    found = [(r.type, r.value) for r in records if r.location.split("--")[0] in stix.VALUE_TYPES]
    assert found == [
        ("ipv4", "193.233.20.12"),
        ("ipv6", "2a0e:97c0:3e2:51::42"),
        ("domain", "files-share-eu.top"),
        ("url", "http://files-share-eu.top/a/b.zip"),
        ("email", "hr-notice@staffportal-mail.com"),
    ]
    files = by_location(records, "file--")
    assert [(r.type, r.value[:8]) for r in files] == [
        ("md5", "0b4a3467"),
        ("sha256", "df58583f"),
    ]  # no SSDEEP
    assert files[0].first_seen is None


def test_bundle_vulnerability_and_attack_pattern():
    records = read_bundle()
    [cve] = by_location(records, "vulnerability--")
    assert (cve.type, cve.value) == ("cve", "CVE-2024-21412")
    assert cve.reference_url == "https://nvd.nist.gov/vuln/detail/CVE-2024-21412"
    assert cve.first_seen == "2025-03-02T10:30:00.000Z"  # created
    assert cve.context.startswith("Internet Shortcut Files")
    [technique] = by_location(records, "attack-pattern--")
    assert (technique.type, technique.value) == ("mitre-attack", "T1566.001")  # not CAPEC-163
    assert technique.context == "Spearphishing Attachment"


def test_objects_without_indicators_are_passed_over():
    records = read_bundle()
    assert not [
        r for r in records if r.location.startswith(("identity", "marking", "malware", "relationship"))
    ]
    assert len(records) == 27


def test_vulnerability_named_by_its_cve_and_attack_pattern_without_attack_id():
    stream = document(
        {"type": "vulnerability", "id": "vulnerability--1", "name": "CVE-2023-4966"},
        {"type": "vulnerability", "id": "vulnerability--2", "name": "Citrix Bleed"},
        {"type": "attack-pattern", "id": "attack-pattern--1", "name": "x", "external_references": []},
    )
    assert [(r.location, r.value) for r in stix.read(stream)] == [("vulnerability--1", "CVE-2023-4966")]


def test_stix_20_indicator_and_observed_data():
    stream = document(
        {
            "type": "indicator",
            "id": "indicator--20",
            "pattern": "[url:value = 'http://a.top/']",
            "labels": ["x"],
        },
        {
            "type": "observed-data",
            "id": "observed-data--1",
            "first_observed": "2025-01-01T00:00:00Z",
            "last_observed": "2025-01-02T00:00:00Z",
            "objects": {
                "0": {"type": "ipv4-addr", "value": "45.137.21.9"},
                "1": {"type": "mutex", "name": "m"},
            },
        },
    )
    first, second = stix.read(stream)
    assert (first.type, first.value, first.tags) == ("url", "http://a.top/", ["x"])  # no pattern_type: stix
    assert (second.location, second.type, second.value) == (
        "observed-data--1 objects.0",
        "ipv4",
        "45.137.21.9",
    )
    assert (second.first_seen, second.last_seen) == ("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z")


def test_malformed_pattern_and_odd_objects_are_rows_not_failures():
    stream = document(
        indicator("[ipv4-addr:value = '1.2.3.4'"),
        {"type": "indicator", "id": "indicator--nopattern", "pattern_type": "stix"},
        "not an object",
        {"type": "ipv4-addr", "value": "45.137.21.9"},
    )
    bad, missing, odd, no_id = stix.read(stream)
    assert bad.error.startswith("invalid STIX pattern") and bad.location == "indicator--x"
    assert missing.error == "the indicator has no pattern"
    assert odd.location == "object 3" and "found str" in odd.error
    assert (no_id.location, no_id.value) == ("object 4", "45.137.21.9")


def test_bare_array_envelope_bom_and_text_streams():
    objects = [indicator("[ipv4-addr:value = '45.137.21.9']")]
    array = json.dumps(objects).encode()
    assert [r.value for r in stix.read(io.BytesIO(array))] == ["45.137.21.9"]
    envelope = json.dumps({"more": False, "objects": objects}).encode()
    assert [r.value for r in stix.read(io.BytesIO(b"\xef\xbb\xbf" + envelope))] == ["45.137.21.9"]
    assert [r.value for r in stix.read(io.StringIO("\ufeff" + envelope.decode()))] == ["45.137.21.9"]
    assert list(stix.read(io.BytesIO(b"  "))) == []
    assert list(stix.read(io.BytesIO(b"{}"))) == []


def test_broken_documents_raise_import_format_error_after_what_was_read():
    truncated = json.dumps({"objects": [indicator("[ipv4-addr:value = '45.137.21.9']")] * 2})[:-30]
    records = stix.read(io.BytesIO(truncated.encode()))
    assert next(records).value == "45.137.21.9"
    with pytest.raises(ImportFormatError, match="invalid JSON"):
        list(records)
    with pytest.raises(ImportFormatError, match="not a STIX document"):
        list(stix.read(io.BytesIO(b"<html><body>503</body></html>")))
    with pytest.raises(ImportFormatError, match="invalid JSON"):
        list(stix.read(io.BytesIO(b'{"objects": [{"type": "ipv4-addr", "value": "\xff"}]}')))


# ------------------------------------------------------------------------------------------ registry
def test_registered_as_a_binary_format_and_read_from_gzip(tmp_path):
    assert READERS["stix"].binary and not READERS["stix"].articles
    packed = tmp_path / "bundle.json.gz"
    packed.write_bytes(gzip.compress(BUNDLE.read_bytes()))
    records = list(read_file(packed, "stix", ReaderOptions()))
    assert len(records) == 27 and records[0].value == "45.137.21.9"
    assert guess_format(BUNDLE) == "stix"
    assert guess_format(FEEDS / "taxii21_envelope.json") == "stix"
    bare = tmp_path / "objects"
    bare.write_text(json.dumps([{"type": "indicator", "spec_version": "2.1"}]))
    assert guess_format(bare) == "stix"


def test_read_file_reports_a_truncated_gzip(tmp_path):
    packed = gzip.compress(BUNDLE.read_bytes())
    cut = tmp_path / "bundle.json.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(ImportFormatError, match="could not be read to its end"):
        list(read_file(cut, "stix", ReaderOptions()))


def test_read_file_takes_a_declared_charset_for_text_formats(tmp_path):
    latin = tmp_path / "list.csv"
    latin.write_bytes("value,context\n45.137.21.9,Caf\xe9 C2\n".encode("latin-1"))
    [record] = read_file(latin, "csv", ReaderOptions(), encoding="ISO-8859-1")
    assert record.context == "Café C2"
    [guessed] = read_file(latin, "csv", ReaderOptions(), encoding="no-such-charset")  # unknown: UTF-8
    assert guessed.context == "Caf\ufffd C2"
    marked = tmp_path / "marked.csv"
    marked.write_bytes(b"\xef\xbb\xbf" + "value,context\n45.137.21.9,Café\n".encode())
    [record] = read_file(marked, "csv", ReaderOptions(), encoding="ISO-8859-1")  # the BOM wins
    assert record.context == "Café"
    wide = tmp_path / "wide.txt"
    wide.write_bytes("45.137.21.9\n".encode("utf-16"))
    assert [r.value for r in read_file(wide, "txt", ReaderOptions())] == ["45.137.21.9"]
    bundle = json.dumps(
        {"objects": [indicator("[url:value = 'http://a.top/café']")]}, ensure_ascii=False
    ).encode()
    (tmp_path / "b.json").write_bytes(bundle)
    [record] = read_file(tmp_path / "b.json", "stix", ReaderOptions(), encoding="ISO-8859-1")  # JSON: UTF-8
    assert record.value == "http://a.top/café"


# ------------------------------------------------------------------------------------------ streaming
def test_a_large_bundle_is_read_with_bounded_memory(tmp_path):
    count = 15_000
    path = tmp_path / "large.json"
    with open(path, "w") as out:
        out.write('{"type": "bundle", "id": "bundle--1", "objects": [')
        for i in range(count):
            item = indicator(
                f"[ipv4-addr:value = '45.{i // 65536}.{i // 256 % 256}.{i % 256}']",
                id=f"indicator--00000000-0000-4000-8000-{i:012d}",
                created="2025-03-02T10:15:00.000Z",
                valid_from="2025-03-01T00:00:00Z",
                description="generated " + "x" * 1000,
            )
            out.write(("," if i else "") + json.dumps(item))
        out.write("]}")
    size = path.stat().st_size
    tracemalloc.start()
    try:
        with open(path, "rb") as stream:
            seen = sum(1 for record in stix.read(stream) if record.error is None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count
    print(f"STIX bundle: {size} bytes, {count} indicators, tracemalloc peak {peak} bytes")
    assert size > 15_000_000
    assert peak < size / 20, f"peak {peak} bytes for a {size}-byte bundle"
