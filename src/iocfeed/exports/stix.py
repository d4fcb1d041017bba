"""STIX 2.1: one object per indicator, and a bundle streamed as byte chunks.

Objects are plain dicts encoded with msgspec (the `stix2` library is about 100x slower; tests
check the output with `stix2-validator` and `stix2.parse`). Decisions, and why:

- Ids are deterministic: `<stix type>--<indicator id>`, the indicator id being uuid5(namespace,
  "type|value") (`store.upsert.indicator_uuid`). A re-export or a TAXII poll updates the object a
  consumer already has instead of adding a duplicate. (The validator warns that STIX prefers
  UUIDv4 for domain objects; it is a SHOULD, and stable ids matter more to consumers.)
- Network, email and hash values are `indicator`s with a STIX pattern. A CVE is a `vulnerability`
  (what it is; a pattern over a CVE id would match nothing) with an external reference
  `{source_name: "cve", external_id}`. An ATT&CK technique is an `attack-pattern` with
  `{source_name: "mitre-attack", external_id}`. An ATT&CK tactic (TA....) is not exported: STIX 2.1
  has no standard object for it (MITRE's own `x-mitre-tactic` is custom and strict consumers refuse
  it); tactics still appear as `kill_chain_phases` of the objects that name them.
- TLP 2.0 markings are the five standard marking-definition objects (fixed ids, created
  2022-10-01, the TLP 2.0 extension). Each object carries its own `object_marking_refs`: the
  `tlp=` override when given, else by its confidence band (high -> green, medium -> amber, low ->
  clear), so a mixed bundle marks each indicator by its own band. The bundle holds each marking
  used, written just before the first object that refers to it (the bundle is streamed, so what
  is used is only known as rows arrive).
- `modified` is the row's `updated_at` (the server's write clock, which is also TAXII's
  date_added); `created` is the earlier of first_seen and updated_at, so created <= modified holds.
- Status: `revoked` and `false-positive` rows are exported with `revoked: true` (STIX's way of
  telling a consumer to withdraw an object it holds); an `expired` row gets `valid_until` (it was
  valid, and no longer is). Delta clients see these when they ask for every status.
- `indicator_types`: `compromised`, `anomalous-activity` or `anonymization` when the tags say so,
  plus `malicious-activity` unless every tag is one of those (a host only listed as compromised is
  a victim, not known to attack anyone).
- `confidence` is the score as of the export (as in the JSON list); `labels` are the tags.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

import msgspec

from iocfeed.indicators.vulns import TACTICS, attack_name, attack_tactics
from iocfeed.scoring import decayed_score
from iocfeed.store.queries import IndicatorRow, SourceRef
from iocfeed.timeutil import parse_instant

STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
TLP_LEVELS: tuple[str, ...] = ("clear", "green", "amber", "amber+strict", "red")
DEFAULT_TLP_BY_CONFIDENCE = {"high": "green", "medium": "amber", "low": "clear"}
TLP_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
# The standard TLP 2.0 marking-definition ids (OASIS CTI TC, TLP 2.0 extension definition).
TLP_MARKING_IDS = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP_CREATED = "2022-10-01T00:00:00.000Z"
TLP_MARKINGS: dict[str, dict[str, Any]] = {
    level: {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id,
        "created": TLP_CREATED,
        "name": f"TLP:{level.upper()}",
        "extensions": {TLP_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": level}},
    }
    for level, marking_id in TLP_MARKING_IDS.items()
}

IDENTITY_CREATED = "2024-01-01T00:00:00.000Z"
PRODUCER_IDENTITY: dict[str, Any] = {
    "type": "identity",
    "spec_version": "2.1",
    "id": "identity--fd2ed176-c7c9-40fb-bec1-02c73005536d",  # fixed forever: consumers key on it
    "created": IDENTITY_CREATED,
    "modified": IDENTITY_CREATED,
    "name": "iocfeed",
    "description": "Self-hosted threat-intelligence feed: canonical, scored, deduplicated indicators.",
    "identity_class": "organization",
}
# Fixed objects every export refers to, with their date_added in µs (TAXII serves them too).
REFERENCE_OBJECTS: tuple[tuple[int, dict[str, Any]], ...] = (
    *((parse_instant(TLP_CREATED), TLP_MARKINGS[level]) for level in TLP_LEVELS),
    (parse_instant(IDENTITY_CREATED), PRODUCER_IDENTITY),
)

INDICATOR_TYPES = ("ipv4", "ipv6", "domain", "url", "email", "md5", "sha1", "sha256", "sha512")
STIX_TYPE_OF: dict[str, str] = {
    **dict.fromkeys(INDICATOR_TYPES, "indicator"),
    "cve": "vulnerability",
    "mitre-attack": "attack-pattern",
}
_PATTERN_PATHS = {
    "ipv4": "ipv4-addr:value",
    "ipv6": "ipv6-addr:value",
    "domain": "domain-name:value",
    "url": "url:value",
    "email": "email-addr:value",
    "md5": "file:hashes.MD5",
    "sha1": "file:hashes.'SHA-1'",
    "sha256": "file:hashes.'SHA-256'",
    "sha512": "file:hashes.'SHA-512'",
}
_NAMES = {
    "ipv4": "IPv4 address",
    "ipv6": "IPv6 address",
    "domain": "Domain",
    "url": "URL",
    "email": "Email address",
    "md5": "MD5",
    "sha1": "SHA-1",
    "sha256": "SHA-256",
    "sha512": "SHA-512",
}
# Tags that say what kind of activity an indicator shows, when it is not simply malicious.
_TYPE_BY_TAG = {
    "compromised": "compromised",
    "scanner": "anomalous-activity",
    "scanning": "anomalous-activity",
    "bruteforce": "anomalous-activity",
    "brute-force": "anomalous-activity",
    "tor": "anonymization",
    "tor-exit": "anonymization",
    "proxy": "anonymization",
    "vpn": "anonymization",
}
_decode_list = msgspec.json.Decoder(list[str]).decode
_encode = msgspec.json.Encoder().encode


@lru_cache(maxsize=65_536)
def _utc_second(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def stix_timestamp(micros: int) -> str:
    """RFC 3339 with all six fraction digits: `modified` must round-trip exactly (TAXII versions).

    Formatting is the hot spot of a large export; rows written in one batch share their seconds."""
    seconds, fraction = divmod(micros, 1_000_000)
    return f"{_utc_second(seconds)}.{fraction:06d}Z"


def escape_pattern_string(value: str) -> str:
    """A value as the inside of a STIX pattern string literal: `\\` -> `\\\\`, `'` -> `\\'`."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def stix_pattern(indicator_type: str, value: str) -> str:
    return f"[{_PATTERN_PATHS[indicator_type]} = '{escape_pattern_string(value)}']"


def is_exported(indicator_type: str, value: str) -> bool:
    """False for ATT&CK tactics (see the module docstring) and unknown types."""
    if indicator_type == "mitre-attack":
        return not value.startswith("TA")
    return indicator_type in STIX_TYPE_OF


def stix_id(indicator_type: str, indicator_id: str) -> str:
    return f"{STIX_TYPE_OF[indicator_type]}--{indicator_id}"


def tlp_level(confidence: str, override: str | None) -> str:
    return override or DEFAULT_TLP_BY_CONFIDENCE.get(confidence, "amber")


def indicator_types(tags: list[str]) -> list[str]:
    kinds = [_TYPE_BY_TAG[tag] for tag in tags if tag in _TYPE_BY_TAG]
    found = sorted(set(kinds))
    if not found or len(kinds) < len(tags):
        found.append("malicious-activity")
    return found


def kill_chain_phases(techniques: list[str]) -> list[dict[str, str]]:
    """ATT&CK ids -> phases named after their tactics (a tactic id names its own phase)."""
    phases: list[str] = []
    for attack_id in techniques:
        if attack_id in TACTICS:
            names = [TACTICS[attack_id].lower().replace(" ", "-")]
        else:
            names = attack_tactics(attack_id)
        phases.extend(name for name in names if name not in phases)
    return [{"kill_chain_name": "mitre-attack", "phase_name": name} for name in phases]


def _source_references(source: SourceRef | None) -> list[dict[str, str]]:
    if source is None:
        return []
    references = []
    if source.article_url:
        reference = {"source_name": source.feed_name, "url": source.article_url}
        if source.article_title:
            reference["description"] = source.article_title
        references.append(reference)
    if source.reference_url and source.reference_url != source.article_url:
        references.append({"source_name": source.feed_name, "url": source.reference_url})
    return references


def _description(row: IndicatorRow) -> str:
    parts = [row.context] if row.context else []
    if row.status == "false-positive":
        parts.append("Withdrawn: false positive" + (f" ({row.status_reason})." if row.status_reason else "."))
    elif row.status == "revoked":
        parts.append("Withdrawn by the feed operator.")
    if not parts:
        sources = "source" if row.source_count == 1 else "sources"
        parts.append(f"Reported by {row.source_count} {sources}.")
    return " ".join(parts)


def _technique_url(technique_id: str) -> str:
    return f"https://attack.mitre.org/techniques/{technique_id.replace('.', '/')}/"


def stix_object(
    row: IndicatorRow, source: SourceRef | None, *, now: int, tlp: str | None = None
) -> dict[str, Any] | None:
    """The STIX object of one indicator row, or None when its type is not exported."""
    if not is_exported(row.type, row.value):
        return None
    stix_type = STIX_TYPE_OF[row.type]
    tags = _decode_list(row.tags)
    obj: dict[str, Any] = {
        "type": stix_type,
        "spec_version": "2.1",
        "id": f"{stix_type}--{row.id}",
        "created": stix_timestamp(min(row.first_seen, row.updated_at)),
        "modified": stix_timestamp(row.updated_at),
        "created_by_ref": PRODUCER_IDENTITY["id"],
        "object_marking_refs": [TLP_MARKING_IDS[tlp_level(row.confidence, tlp)]],
        "description": _description(row),
        "confidence": decayed_score(row.type, row.base_score, row.last_seen, now),
    }
    references = _source_references(source)
    if stix_type == "indicator":
        obj["name"] = f"{_NAMES[row.type]} {row.value}"
        obj["indicator_types"] = indicator_types(tags)
        obj["pattern"] = stix_pattern(row.type, row.value)
        obj["pattern_type"] = "stix"
        obj["pattern_version"] = "2.1"
        obj["valid_from"] = stix_timestamp(row.first_seen)
        if row.status == "expired":
            obj["valid_until"] = stix_timestamp(max(row.updated_at, row.first_seen + 1_000))
        phases = kill_chain_phases(_decode_list(row.mitre_techniques))
    elif stix_type == "vulnerability":
        obj["name"] = row.value
        cve_url = f"https://www.cve.org/CVERecord?id={row.value}"
        references.insert(0, {"source_name": "cve", "external_id": row.value, "url": cve_url})
        phases = []
    else:
        obj["name"] = attack_name(row.value) or row.value
        attack_reference = {"source_name": "mitre-attack", "external_id": row.value}
        references.insert(0, {**attack_reference, "url": _technique_url(row.value)})
        phases = kill_chain_phases([row.value])
    if phases:
        obj["kill_chain_phases"] = phases
    if references:
        obj["external_references"] = references
    if tags:
        obj["labels"] = tags
    if row.status in ("revoked", "false-positive"):
        obj["revoked"] = True
    return obj


def stream_bundle(
    batches: Iterable[list[tuple[IndicatorRow, SourceRef | None]]], *, now: int, tlp: str | None = None
) -> Iterator[bytes]:
    """A bundle as byte chunks: the head with the producer identity, then one chunk per batch.

    Memory holds one batch at a time, however many rows the export has."""
    head = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}"}
    yield _encode(head)[:-1] + b',"objects":[' + _encode(PRODUCER_IDENTITY)
    markings_written: set[str] = set()
    for batch in batches:
        objects: list[dict[str, Any]] = []
        for row, source in batch:
            obj = stix_object(row, source, now=now, tlp=tlp)
            if obj is None:
                continue
            level = tlp_level(row.confidence, tlp)
            if level not in markings_written:
                markings_written.add(level)
                objects.append(TLP_MARKINGS[level])
            objects.append(obj)
        if objects:
            yield b"," + _encode(objects)[1:-1]
    yield b"]}"
