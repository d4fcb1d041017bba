"""One MISP event, one attribute per indicator, written as a stream of JSON chunks.

Type map (iocfeed -> MISP attribute type, category):

    ipv4, ipv6                  ip-dst          Network activity
    domain                      domain          Network activity
    url                         url             Network activity
    md5 sha1 sha256 sha512      the same        Payload delivery
    email                       email-src       Payload delivery
    cve                         vulnerability   External analysis
    mitre-attack                no attribute: a galaxy tag on the event

Addresses are `ip-dst`, not `ip-src`: the feeds list C2 servers, payload hosts and phishing
infrastructure that a protected host connects *to*; MISP's IDS export then writes rules on the
destination. (A scanner list would be better as ip-src, but a record does not say which it is.)
Email addresses are senders of phishing mail, hence `email-src`.

`to_ids` is true for active indicators, false for CVEs (a CVE id matches no traffic; MISP's own
default) and for anything not active (expired, revoked, false positive), which an export with
`status=` may include: the attribute stays as context without feeding IDS rules.

ATT&CK ids become galaxy tags, `misp-galaxy:mitre-attack-pattern="Command and Scripting Interpreter -
T1059"` (the cluster's value) or `misp-galaxy:mitre-ics-techniques="<name>"` for ICS ids (T0xxx), on
the event (every id seen, from `mitre-attack` records and from each record's techniques) and on each
attribute for its own techniques, so a consumer that reads attributes one by one keeps the link.
Tactic ids (TA0011) belong to no MISP galaxy: they become `mitre-attack:tactic="Command and Control -
TA0011"`. The event's Tag list comes after the Attribute list (JSON key order is free), because the
ids are only known once the stream has passed every record.

Attribute uuids are uuid5(event uuid, indicator id): stable across re-exports of the same event, so
MISP updates rather than duplicates, and distinct between events, since MISP refuses one attribute
uuid in two events. Attribute tags: the TLP from the confidence band (high -> tlp:green, medium ->
tlp:amber, low -> tlp:clear, as for STIX), `iocfeed:confidence`, `iocfeed:source-category`,
`iocfeed:status` when not active, and the record's own tags. The event is tagged with the most
restrictive TLP of its attributes. It is not published: an analyst reviews before MISP syncs it on.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator

import msgspec

from iocfeed.indicators.vulns import TACTICS, attack_name
from iocfeed.store.queries import IndicatorRow, SourceRef
from iocfeed.timeutil import MICROS_PER_SECOND, day_string, format_us

Batch = list[tuple[IndicatorRow, SourceRef | None]]

# Namespace of MISP event uuids: uuid5(MISP_EVENT_NAMESPACE, export key). Fixed forever.
MISP_EVENT_NAMESPACE = uuid.UUID("8b0f6c3e-2a41-5d7e-9c15-4e6a1f0b2d93")

MISP_TYPES: dict[str, tuple[str, str]] = {
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
TLP_BY_CONFIDENCE = {"high": "tlp:green", "medium": "tlp:amber", "low": "tlp:clear"}
_TLP_ORDER = ("tlp:clear", "tlp:green", "tlp:amber")  # least to most restrictive
THREAT_LEVEL_UNDEFINED = "4"  # 1 high, 2 medium, 3 low, 4 undefined: a feed mixes all of them
ANALYSIS_COMPLETED = "2"

_encode = msgspec.json.Encoder().encode
_decode_list = msgspec.json.Decoder(list[str]).decode


def event_uuid(export_key: str) -> str:
    """The event's uuid: the same filters give the same event, which a re-import then updates."""
    return str(uuid.uuid5(MISP_EVENT_NAMESPACE, export_key))


def attack_tag(attack_id: str) -> str | None:
    """The MISP tag of an ATT&CK id, or None for an id ATT&CK does not know (any more)."""
    name = attack_name(attack_id)
    if name is None:
        return None
    if attack_id in TACTICS:
        return f'mitre-attack:tactic="{name} - {attack_id}"'
    if attack_id.startswith("T0"):  # ICS techniques have a cluster of their own, named without the id
        return f'misp-galaxy:mitre-ics-techniques="{name}"'
    return f'misp-galaxy:mitre-attack-pattern="{name} - {attack_id}"'


def tlp_of(row: IndicatorRow) -> str:
    return TLP_BY_CONFIDENCE.get(row.confidence, "tlp:amber")


def misp_attribute(row: IndicatorRow, source: SourceRef | None, event: uuid.UUID) -> dict[str, object]:
    """The attribute of one record (not for `mitre-attack` records, which have none)."""
    misp_type, category = MISP_TYPES[row.type]
    tags = [tlp_of(row), f'iocfeed:confidence="{row.confidence}"']
    if source is not None:
        tags.append(f'iocfeed:source-category="{source.category}"')
    if row.status != "active":
        tags.append(f'iocfeed:status="{row.status}"')
    tags.extend(_decode_list(row.tags))
    tags.extend(tag for attack_id in _decode_list(row.mitre_techniques) if (tag := attack_tag(attack_id)))
    return {
        "uuid": str(uuid.uuid5(event, row.id)),
        "type": misp_type,
        "category": category,
        "value": row.value,
        "to_ids": row.status == "active" and row.type != "cve",
        "comment": _comment(row, source),
        "first_seen": format_us(row.first_seen),
        "last_seen": format_us(row.last_seen),
        "timestamp": str(row.updated_at // MICROS_PER_SECOND),
        "Tag": [{"name": name} for name in dict.fromkeys(tags)],
    }


def misp_event_chunks(batches: Iterable[Batch], *, info: str, export_key: str, now: int) -> Iterator[bytes]:
    """The event as byte chunks: the head, one chunk of attributes per batch, then the event's tags."""
    event = uuid.UUID(event_uuid(export_key))
    head = {
        "info": info,
        "date": day_string(now),
        "threat_level_id": THREAT_LEVEL_UNDEFINED,
        "analysis": ANALYSIS_COMPLETED,
        "published": False,
        "uuid": str(event),
        "timestamp": str(now // MICROS_PER_SECOND),
    }
    # The head's closing brace is dropped so the Attribute list can follow inside the same object.
    yield b'{"Event":' + _encode(head)[:-1] + b',"Attribute":['
    attack_ids: dict[str, None] = {}
    tlp_index = 0
    first = True
    for batch in batches:
        encoded = []
        for row, source in batch:
            techniques = [row.value] if row.type == "mitre-attack" else _decode_list(row.mitre_techniques)
            attack_ids.update(dict.fromkeys(techniques))
            if row.type not in MISP_TYPES:
                continue
            tlp_index = max(tlp_index, _TLP_ORDER.index(tlp_of(row)))
            encoded.append(_encode(misp_attribute(row, source, event)))
        if encoded:
            yield (b"" if first else b",") + b",".join(encoded)
            first = False
    event_tags = [_TLP_ORDER[tlp_index], *(tag for i in sorted(attack_ids) if (tag := attack_tag(i)))]
    yield b'],"Tag":' + _encode([{"name": name} for name in event_tags]) + b"}}"


def _comment(row: IndicatorRow, source: SourceRef | None) -> str:
    """Where the value comes from, in words: feed, article, context."""
    parts = []
    if source is not None:
        parts.append(source.feed_name)
        if source.article_title:
            parts.append(source.article_title)
    if row.context:
        parts.append(row.context)
    return " | ".join(parts)
