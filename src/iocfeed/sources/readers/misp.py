"""MISP feeds -> raw records: the feed's manifest (which events exist) and one event file.

A MISP feed (CIRCL's OSINT feed, for one) is a directory: `manifest.json` maps each event's uuid to
a summary, and `<uuid>.json` holds the event. A fetcher reads the manifest (`read_manifest`), fetches
the events whose `timestamp` moved since its last run (`event_url`), and reads each one with `read`.

Attribute types (of Event.Attribute[] and Event.Object[].Attribute[]) -> our type names, per
`|`-separated part of the value (-: that part is not read):

    ip-dst, ip-src                  ip (either family: the pipeline tells them apart)
    ip-dst|port, ip-src|port        ip | -
    domain, hostname                domain
    hostname|port                   domain | -
    domain|ip                       domain | ip (two records)
    url                             url
    md5, sha1, sha256, sha512       the same
    filename|md5 … filename|sha512  - | the hash
    malware-sample                  - | md5
    email, email-src, email-dst, email-reply-to      email
    vulnerability                   cve

Every other type is a skipped row naming it: `link` (a reference to a report, not an indicator),
`uri` (a path without a host), comment, text, other, AS, filename, regkey, mutex, ssdeep, imphash and
the rest of MISP's ~190 types. So are deleted attributes (or objects), and attributes with `to_ids: false` (context
rather than detection material, in MISP's terms) unless ReaderOptions.include_non_ids; an attribute
without `to_ids` counts as true, and vulnerabilities are read whatever their to_ids (MISP sets it
false for them by default: a CVE matches no traffic, but it is an indicator iocfeed stores).

Fields: tags = the event's and the attribute's Tag[].name (tlp:white, type:OSINT, galaxy clusters…),
except ATT&CK galaxy tags (misp-galaxy:mitre-attack-pattern="Name - T1059"), which give
mitre_techniques; context = the event's info, then the attribute's comment; first_seen = the
attribute's first_seen, else its timestamp (unix seconds, written as ISO 8601 UTC), else the event's
date; last_seen = the attribute's last_seen. `location` is the attribute's uuid, else its position.

Streaming: attributes are built one at a time from ijson's parse events (objects, which are small,
are not held whole). The event's own fields (info, date, Tag) apply to the attributes after them;
MISP and PyMISP both write those fields before the Attribute and Object lists.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import urljoin

import ijson

from iocfeed.errors import ImportFormatError
from iocfeed.sources.records import JsonBytes, RawRecord, ReaderOptions, json_error

log = logging.getLogger(__name__)

_HASHES = ("md5", "sha1", "sha256", "sha512")
MISP_TYPES: dict[str, tuple[str | None, ...]] = {
    "ip-dst": ("ip",),
    "ip-src": ("ip",),
    "ip-dst|port": ("ip", None),
    "ip-src|port": ("ip", None),
    "domain": ("domain",),
    "hostname": ("domain",),
    "hostname|port": ("domain", None),
    "domain|ip": ("domain", "ip"),
    "url": ("url",),
    **{name: (name,) for name in _HASHES},
    **{f"filename|{name}": (None, name) for name in _HASHES},
    "malware-sample": (None, "md5"),
    "email": ("email",),
    "email-src": ("email",),
    "email-dst": ("email",),
    "email-reply-to": ("email",),
    "vulnerability": ("cve",),
}
# mitre-attack-pattern, and the older mitre-enterprise-attack-attack-pattern, mitre-mobile-attack-…
_ATTACK_TAG_RE = re.compile(r'misp-galaxy:mitre-[\w-]*attack-pattern="[^"]*?\b(T\d{4}(?:\.\d{3})?)"')
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_ATTRIBUTE = "Event.Attribute.item"
_OBJECT = "Event.Object.item"
_OBJECT_ATTRIBUTE = "Event.Object.item.Attribute.item"
_TRUE = (True, 1, "1", "true", "True")
# MISP gives vulnerabilities to_ids false by default (a CVE id matches no traffic), and so does
# iocfeed's own MISP export; a CVE is still what iocfeed stores, so to_ids is not asked of them.
_READ_WITHOUT_IDS = frozenset({"vulnerability"})


@dataclass(frozen=True, slots=True)
class MispManifestEntry:
    uuid: str
    info: str | None
    date: str | None  # the event's date, YYYY-MM-DD
    timestamp: int | None  # unix seconds of the event's last change: fetch it again when this moves
    tags: tuple[str, ...] = ()


def read_manifest(stream: IO[bytes] | IO[str]) -> Iterator[MispManifestEntry]:
    """The events a feed's manifest.json lists. A key that is not a uuid is logged and passed over:
    the fetcher builds a URL from it, so it must not be able to say `../` or `?`."""
    source = JsonBytes(stream)
    if source.first != b"{":
        raise ImportFormatError("a MISP manifest is a JSON object keyed by event uuid")
    try:
        for key, summary in ijson.kvitems(source, "", use_float=True):
            if not _UUID_RE.fullmatch(key) or not isinstance(summary, dict):
                log.warning(
                    "MISP manifest: entry %r is not an event uuid with a summary; passed over", key[:80]
                )
                continue
            yield MispManifestEntry(
                uuid=key,
                info=_text(summary.get("info")),
                date=_text(summary.get("date")),
                timestamp=_unix(summary.get("timestamp")),
                tags=tuple(_tag_names(summary.get("Tag"))),
            )
    except ijson.JSONError as exc:
        raise ImportFormatError(f"invalid MISP manifest ({json_error(exc)})") from exc


def manifest_url(feed_url: str) -> str:
    return urljoin(_directory(feed_url), "manifest.json")


def event_url(feed_url: str, uuid: str) -> str:
    """Where a feed keeps an event: `<uuid>.json` beside the manifest (feed_url: either of them)."""
    if not _UUID_RE.fullmatch(uuid):
        raise ValueError(f"{uuid[:80]!r} is not an event uuid")
    return urljoin(_directory(feed_url), f"{uuid.lower()}.json")


def _directory(feed_url: str) -> str:
    return feed_url if feed_url.endswith(("/", ".json")) else feed_url + "/"


@dataclass(slots=True)
class _Event:
    """The event's own fields, as far as the stream has shown them."""

    info: str | None = None
    date: str | None = None
    tags: list[str] = field(default_factory=list)
    object_deleted: bool = False  # the object the current attribute belongs to


def read(stream: IO[bytes] | IO[str], options: ReaderOptions | None = None) -> Iterator[RawRecord]:
    """One event file (`{"Event": {...}}`) as raw records (see the module doc)."""
    options = options or ReaderOptions()
    event = _Event()
    builder: ijson.ObjectBuilder | None = None
    building, location = "", ""
    found = False
    attributes = objects = object_attributes = 0
    try:
        for prefix, kind, value in ijson.parse(JsonBytes(stream), use_float=True):
            if builder is not None:
                builder.event(kind, value)
                if prefix == building and kind in ("end_map", "end_array"):
                    yield from _records(builder.value, location, event, options)
                    builder = None
                continue
            if prefix in (_ATTRIBUTE, _OBJECT_ATTRIBUTE):  # an attribute begins (or is not an object)
                if prefix == _ATTRIBUTE:
                    attributes += 1
                    location = f"Attribute {attributes}"
                    event.object_deleted = False
                else:
                    object_attributes += 1
                    location = f"Object {objects} Attribute {object_attributes}"
                if kind in ("start_map", "start_array"):
                    builder, building = ijson.ObjectBuilder(), prefix
                    builder.event(kind, value)
                else:
                    yield from _records(value, location, event, options)
            elif kind == "start_map" and prefix == _OBJECT:
                objects, object_attributes = objects + 1, 0
                event.object_deleted = False
            elif prefix == "Event.Object.item.deleted":
                event.object_deleted = value in _TRUE
            elif prefix == "" and kind == "map_key" and value == "Event":
                found = True
            elif prefix == "Event.info" and kind == "string":
                event.info = value
            elif prefix == "Event.date" and kind == "string":
                event.date = value
            elif prefix == "Event.Tag.item.name" and kind == "string":
                event.tags.append(value)
    except ijson.JSONError as exc:
        raise ImportFormatError(f"invalid MISP event ({json_error(exc)})") from exc
    if not found:
        raise ImportFormatError('not a MISP event file: there is no top-level "Event"')


def _records(attribute: object, position: str, event: _Event, options: ReaderOptions) -> Iterator[RawRecord]:
    if not isinstance(attribute, dict):
        yield RawRecord(position, "", error="the attribute is not a JSON object")
        return
    location = attribute["uuid"] if _text(attribute.get("uuid")) else position
    misp_type, value = attribute.get("type"), attribute.get("value")
    shown = value if isinstance(value, str) else ""
    types = MISP_TYPES.get(misp_type) if isinstance(misp_type, str) else None
    if types is None:
        reason = f"MISP type {misp_type!r} is not an indicator type iocfeed stores"
        yield RawRecord(location, shown, error=reason, skipped=True)
        return
    if attribute.get("deleted") in _TRUE or event.object_deleted:
        yield RawRecord(location, shown, error="the attribute is deleted", skipped=True)
        return
    wants_ids = misp_type not in _READ_WITHOUT_IDS and not options.include_non_ids
    if wants_ids and attribute.get("to_ids", True) not in _TRUE:
        yield RawRecord(location, shown, error="to_ids is false (context, not for detection)", skipped=True)
        return
    parts = shown.rsplit("|", len(types) - 1)
    if len(parts) != len(types):
        yield RawRecord(location, shown, error=f"a {misp_type} value has {len(types)} parts joined by |")
        return
    tags, techniques = [], []
    for name in [*event.tags, *_tag_names(attribute.get("Tag"))]:
        attack = _ATTACK_TAG_RE.fullmatch(name)
        if attack:
            techniques.append(attack.group(1))
        elif name not in tags:
            tags.append(name)
    comment = _text(attribute.get("comment"))
    context = f"{event.info}: {comment}" if event.info and comment else (comment or event.info)
    first_seen = _text(attribute.get("first_seen")) or _iso(attribute.get("timestamp")) or event.date
    for ours, part in zip(types, parts, strict=True):
        if ours is not None:
            yield RawRecord(
                location,
                part,
                type=ours,
                first_seen=first_seen,
                last_seen=_text(attribute.get("last_seen")),
                tags=tags or None,
                context=context,
                mitre_techniques=techniques or None,
            )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _tag_names(tags: object) -> Iterator[str]:
    for tag in tags if isinstance(tags, list) else ():
        if isinstance(tag, dict) and _text(tag.get("name")):
            yield tag["name"]


def _unix(value: Any) -> int | None:
    """MISP writes unix timestamps as strings ("1700000000") or numbers."""
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _iso(value: Any) -> str | None:
    seconds = _unix(value)
    if not seconds:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return None
