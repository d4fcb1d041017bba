"""OpenIOC 1.0 export: parses as XML, in the 2010 namespace, with the required structure and escaping."""

from __future__ import annotations

import uuid
from dataclasses import replace
from xml.etree.ElementTree import Element, TreeBuilder

import defusedxml.ElementTree as SafeET

from iocfeed.exports.openioc import OPENIOC_NAMESPACE, TERMS, openioc_chunks
from iocfeed.store.queries import IndicatorRow
from iocfeed.store.upsert import indicator_uuid
from iocfeed.timeutil import parse_instant

SEEN = parse_instant("2026-03-01T12:00:00Z")
NOW = SEEN + 1_234_567  # not a whole second: the document's stamps are
NS = {"ioc": OPENIOC_NAMESPACE}
WITH_TERMS = {
    "ipv4": "203.0.113.7",
    "ipv6": "2001:db8::7",
    "domain": "malware.example-bad.com",
    "url": "http://phish.example-bad.net/login.php?id=1",
    "md5": "0" * 31 + "1",
    "sha1": "0" * 39 + "1",
    "sha256": "0" * 63 + "1",
    "email": "billing@invoice-fraud.example.org",
}
WITHOUT_TERMS = {"sha512": "0" * 127 + "1", "cve": "CVE-2021-44228", "mitre-attack": "T1059"}


def make_row(type_: str, value: str, **changes: object) -> IndicatorRow:
    row = IndicatorRow(
        pk=1, id=indicator_uuid(type_, value), type=type_, value=value, status="active", status_reason=None,
        base_score=80.0, score=80, confidence="high", first_seen=SEEN, last_seen=SEEN, updated_at=SEEN,
        source_count=1, industries="[]", tags="[]", mitre_techniques="[]", context=None, best_sighting=1,
        best_government_sighting=1, best_commercial_sighting=None, best_community_sighting=None,
    )  # fmt: skip
    return replace(row, **changes)


def export(rows: list[IndicatorRow], *, batch: int = 100, key: str = "{}") -> tuple[list[bytes], bytes]:
    batches = [[(row, None) for row in rows[i : i + batch]] for i in range(0, len(rows), batch)]
    chunks = list(openioc_chunks(batches, description="test <export> & more", export_key=key, now=NOW))
    return chunks, b"".join(chunks)


def items(root: Element) -> list[Element]:
    return root.findall("ioc:definition/ioc:Indicator/ioc:IndicatorItem", NS)


def test_document_has_the_required_structure_in_the_2010_namespace():
    _, body = export([make_row(t, v) for t, v in WITH_TERMS.items()])
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n')
    root = SafeET.fromstring(body)
    assert root.tag == f"{{{OPENIOC_NAMESPACE}}}ioc"
    uuid.UUID(root.get("id"))
    assert root.get("last-modified") == "2026-03-01T12:00:01Z"
    assert root.findtext("ioc:short_description", namespaces=NS)
    assert root.findtext("ioc:description", namespaces=NS) == "test <export> & more"
    assert root.findtext("ioc:authored_by", namespaces=NS) == "iocfeed"
    assert root.findtext("ioc:authored_date", namespaces=NS) == "2026-03-01T12:00:01Z"
    # Children in the order the OpenIOC 1.0 schema's sequence gives them.
    names = [child.tag.split("}")[1] for child in root]
    assert names == [
        "short_description", "description", "keywords", "authored_by", "authored_date", "links", "definition"
    ]  # fmt: skip
    indicators = root.findall("ioc:definition/ioc:Indicator", NS)
    assert len(indicators) == 1
    assert indicators[0].get("operator") == "OR"
    uuid.UUID(indicators[0].get("id"))


def test_one_item_per_value_with_the_documented_context_and_content_type():
    _, body = export([make_row(t, v) for t, v in WITH_TERMS.items()])
    found = items(SafeET.fromstring(body))
    assert len(found) == len(WITH_TERMS)
    expected = {
        "ipv4": ("PortItem", "PortItem/remoteIP", "IP"),
        "ipv6": ("PortItem", "PortItem/remoteIP", "IP"),
        "domain": ("Network", "Network/DNS", "string"),
        "url": ("UrlHistoryItem", "UrlHistoryItem/URL", "string"),
        "md5": ("FileItem", "FileItem/Md5sum", "md5"),
        "sha1": ("FileItem", "FileItem/Sha1sum", "sha1"),
        "sha256": ("FileItem", "FileItem/Sha256sum", "sha256"),
        "email": ("Email", "Email/From", "string"),
    }
    assert expected == TERMS
    for (type_, value), item in zip(WITH_TERMS.items(), found, strict=True):
        assert item.get("condition") == "is"
        uuid.UUID(item.get("id"))
        context = item.find("ioc:Context", NS)
        content = item.find("ioc:Content", NS)
        assert (context.get("document"), context.get("search"), content.get("type")) == expected[type_]
        assert context.get("type") == "mir"
        assert content.text == value


def test_types_without_a_term_are_left_out_and_counted_in_a_comment():
    rows = [make_row(t, v) for t, v in {**WITH_TERMS, **WITHOUT_TERMS}.items()]
    rows.append(make_row("cve", "CVE-2024-3400"))
    _, body = export(rows)
    assert len(items(SafeET.fromstring(body))) == len(WITH_TERMS)
    builder = TreeBuilder(insert_comments=True)
    parser = SafeET.XMLParser(target=builder)  # defusedxml's parser, keeping comments
    parser.feed(body)
    root = parser.close()
    comments = [node.text for node in root.iter() if not isinstance(node.tag, str)]
    assert comments == [" left out, no OpenIOC 1.0 term for their type: cve: 2, mitre-attack: 1, sha512: 1 "]


def test_values_are_escaped_and_round_trip_exactly():
    nasty = "http://evil.example/a?b=1&c=<script>\"x\"'y'&amp;"
    _, body = export([make_row("url", nasty), make_row("email", "o'brien&co@example.org")])
    found = items(SafeET.fromstring(body))
    assert [item.find("ioc:Content", NS).text for item in found] == [nasty, "o'brien&co@example.org"]
    assert b"<script>" not in body


def test_characters_xml_cannot_carry_are_replaced_not_emitted():
    _, body = export([make_row("url", "http://evil.example/\x00\x1b")])
    assert (
        items(SafeET.fromstring(body))[0].find("ioc:Content", NS).text == "http://evil.example/\ufffd\ufffd"
    )


def test_ids_are_deterministic():
    rows = [make_row("ipv4", "203.0.113.7")]
    first = SafeET.fromstring(export(rows, key="a")[1])
    again = SafeET.fromstring(export(rows, key="a")[1])
    other = SafeET.fromstring(export(rows, key="b")[1])
    assert first.get("id") == again.get("id") != other.get("id")
    assert items(first)[0].get("id") == items(again)[0].get("id")


def test_items_are_written_batch_by_batch_and_an_empty_export_is_valid():
    rows = [make_row("ipv4", f"198.51.100.{i}") for i in range(1, 26)]
    chunks, body = export(rows, batch=10)
    assert len(chunks) == 1 + 3 + 1
    assert len(items(SafeET.fromstring(body))) == 25
    _, empty = export([])
    assert items(SafeET.fromstring(empty)) == []
