"""CEF lines, and RFC 5424 syslog lines that carry them, one per indicator.

CEF: `CEF:0|iocfeed|iocfeed|<version>|<type>|<name>|<severity>|<extension>`. In the header `\\` and
`|` are escaped (a line break, which the header cannot carry, becomes a space); in extension values
`\\` and `=` are escaped and line breaks written as `\\n` / `\\r`, so one record is one line.

    SignatureID   the indicator type (ipv4, domain, sha256, cve, ...)
    Name          "Threat indicator: <what it is>" (one name per type, so a SIEM can group on it)
    Severity      0..10 from the score, aligned with the bands and ArcSight's ranges: low (<50) ->
                  0-3 (Low), medium (50-74) -> 4-6 (Medium), high (>=75) -> 7-10 (High, Very-High)
    dst           IPv4 address (a destination: the feeds list C2 and payload hosts, as for MISP)
    c6a3          IPv6 address, c6a3Label=Destination IPv6 Address (CEF's dst holds IPv4 only)
    dhost         domain
    request       URL
    fileHash      md5, sha1, sha256, sha512 (the SignatureID says which)
    suser         email address (a phishing sender)
    cs1           confidence band (cs1Label=confidence)
    cs2           the most reliable source's feed name (cs2Label=feed)
    cs3           the value itself, whatever the type (cs3Label=indicator): CVE and ATT&CK ids have
                  no field of their own, and one field for every type makes SIEM lookups simple
    cs4, cs5      tags and ATT&CK ids, comma-separated (cs4Label=tags, cs5Label=mitreTechniques)
    cs6           the source's category (cs6Label=sourceCategory)
    cn1           score 0..100 (cn1Label=score)
    externalId    the indicator id (uuid5 of type and value)
    cat           status (active, expired, revoked, false-positive)
    rt            updated_at; start, end: first and last seen (milliseconds since the epoch)
    msg           the record's context; flexString1: the article or reference URL

Syslog (RFC 5424): `<PRI>1 TIMESTAMP HOSTNAME iocfeed - <type> [ioc@32473 ...] CEF:0|...`. The
structured data repeats the essentials (id, type, value, confidence, score, status, feed, category,
firstSeen, lastSeen) for collectors that read SD; the message is the CEF line, the shape ArcSight,
QRadar and Sentinel's CEF connector expect in syslog. SD-ID `ioc@32473` is a private one under
32473, the enterprise number RFC 5612 reserves for documentation: an operator with a number of
their own can substitute it. SD values escape `"`, `\\` and `]` as RFC 5424 says, and line breaks
(which the RFC does not escape) become spaces. PRI: facility local0 (16); severity warning (4) for
high confidence, notice (5) for medium, informational (6) for low or not active. TIMESTAMP is the
record's updated_at (when it last changed, which is what the line reports); no BOM before the
message, which many CEF parsers would read as part of "CEF:0".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import msgspec

from iocfeed import __version__
from iocfeed.scoring import HIGH_FROM, MEDIUM_FROM, decayed_score
from iocfeed.store.queries import IndicatorRow, SourceRef
from iocfeed.timeutil import format_us

Batch = list[tuple[IndicatorRow, SourceRef | None]]

VENDOR = "iocfeed"
PRODUCT = "iocfeed"
SD_ID = "ioc@32473"
APP_NAME = "iocfeed"
FACILITY_LOCAL0 = 16
_SYSLOG_SEVERITY = {"high": 4, "medium": 5, "low": 6}

NAMES = {
    "ipv4": "Threat indicator: IPv4 address",
    "ipv6": "Threat indicator: IPv6 address",
    "domain": "Threat indicator: domain",
    "url": "Threat indicator: URL",
    "md5": "Threat indicator: file hash",
    "sha1": "Threat indicator: file hash",
    "sha256": "Threat indicator: file hash",
    "sha512": "Threat indicator: file hash",
    "email": "Threat indicator: email address",
    "cve": "Threat indicator: vulnerability",
    "mitre-attack": "Threat indicator: ATT&CK technique",
}
_VALUE_FIELDS = {
    "ipv4": ("dst",),
    "ipv6": ("c6a3", "c6a3Label", "Destination IPv6 Address"),
    "domain": ("dhost",),
    "url": ("request",),
    "md5": ("fileHash",),
    "sha1": ("fileHash",),
    "sha256": ("fileHash",),
    "sha512": ("fileHash",),
    "email": ("suser",),
}

_decode_list = msgspec.json.Decoder(list[str]).decode
_HEADER_SPECIALS = re.compile(r"[\\|\r\n]")
_EXTENSION_SPECIALS = re.compile(r"[\\=\r\n]")
_HEADER_ESCAPES = {"\\": "\\\\", "|": "\\|", "\r": " ", "\n": " "}
_EXTENSION_ESCAPES = {"\\": "\\\\", "=": "\\=", "\r": "\\r", "\n": "\\n"}
_SD_SPECIALS = re.compile(r'[\\"\]]')
_LINE_BREAKS = re.compile(r"[\r\n\x85\u2028\u2029]")


def escape_header(text: str) -> str:
    return _HEADER_SPECIALS.sub(lambda m: _HEADER_ESCAPES[m.group()], text)


def escape_extension(text: str) -> str:
    return _EXTENSION_SPECIALS.sub(lambda m: _EXTENSION_ESCAPES[m.group()], text)


def escape_sd_value(text: str) -> str:
    return _SD_SPECIALS.sub(lambda m: "\\" + m.group(), _LINE_BREAKS.sub(" ", text))


def severity(score: int) -> int:
    """CEF severity 0..10, each confidence band inside the ArcSight range of the same meaning."""
    score = max(0, min(100, score))
    if score >= HIGH_FROM:
        return 7 + (score - HIGH_FROM) * 4 // (101 - HIGH_FROM)
    if score >= MEDIUM_FROM:
        return 4 + (score - MEDIUM_FROM) * 3 // (HIGH_FROM - MEDIUM_FROM)
    return score * 4 // MEDIUM_FROM


def cef_line(row: IndicatorRow, source: SourceRef | None, now: int) -> str:
    score = decayed_score(row.type, row.base_score, row.last_seen, now)
    header = [
        "CEF:0",
        VENDOR,
        PRODUCT,
        __version__,
        row.type,
        NAMES.get(row.type, f"Threat indicator: {row.type}"),
        str(severity(score)),
    ]
    fields: list[tuple[str, str]] = []
    value_field = _VALUE_FIELDS.get(row.type)
    if value_field is not None:
        fields.append((value_field[0], row.value))
        if len(value_field) == 3:
            fields.append((value_field[1], value_field[2]))
    fields += [("cs1Label", "confidence"), ("cs1", row.confidence)]
    if source is not None:
        fields += [("cs2Label", "feed"), ("cs2", source.feed_name)]
    fields += [("cs3Label", "indicator"), ("cs3", row.value)]
    tags = _decode_list(row.tags)
    if tags:
        fields += [("cs4Label", "tags"), ("cs4", ",".join(tags))]
    techniques = _decode_list(row.mitre_techniques)
    if techniques:
        fields += [("cs5Label", "mitreTechniques"), ("cs5", ",".join(techniques))]
    if source is not None:
        fields += [("cs6Label", "sourceCategory"), ("cs6", source.category)]
    fields += [
        ("cn1Label", "score"),
        ("cn1", str(score)),
        ("externalId", row.id),
        ("cat", row.status),
        ("rt", str(row.updated_at // 1000)),
        ("start", str(row.first_seen // 1000)),
        ("end", str(row.last_seen // 1000)),
    ]
    if row.context:
        fields.append(("msg", row.context))
    reference = source and (source.article_url or source.reference_url)
    if reference:
        fields += [("flexString1Label", "reference"), ("flexString1", reference)]
    extension = " ".join(f"{key}={escape_extension(value)}" for key, value in fields)
    return "|".join(escape_header(part) if i else part for i, part in enumerate(header)) + "|" + extension


def syslog_line(row: IndicatorRow, source: SourceRef | None, now: int, hostname: str) -> str:
    score = decayed_score(row.type, row.base_score, row.last_seen, now)
    level = _SYSLOG_SEVERITY.get(row.confidence, 6) if row.status == "active" else 6
    params = [
        ("id", row.id),
        ("type", row.type),
        ("value", row.value),
        ("confidence", row.confidence),
        ("score", str(score)),
        ("status", row.status),
    ]
    if source is not None:
        params += [("feed", source.feed_name), ("category", source.category)]
    params += [("firstSeen", format_us(row.first_seen) or ""), ("lastSeen", format_us(row.last_seen) or "")]
    data = " ".join(f'{name}="{escape_sd_value(value)}"' for name, value in params)
    return (
        f"<{FACILITY_LOCAL0 * 8 + level}>1 {format_us(row.updated_at)} {hostname} {APP_NAME} - "
        f"{row.type} [{SD_ID} {data}] {cef_line(row, source, now)}"
    )


def syslog_hostname(name: str) -> str:
    """A HOSTNAME field: printable US-ASCII without spaces, at most 255 characters; "-" if none."""
    cleaned = "".join(c for c in name if "!" <= c <= "~")[:255]
    return cleaned or "-"


def cef_chunks(
    batches: Iterable[Batch], *, now: int, syslog: bool = False, hostname: str = "-"
) -> Iterator[bytes]:
    """One chunk per batch, one line per indicator, each ending in a newline."""
    host = syslog_hostname(hostname)
    for batch in batches:
        if syslog:
            lines = [syslog_line(row, source, now, host) for row, source in batch]
        else:
            lines = [cef_line(row, source, now) for row, source in batch]
        if lines:
            yield ("\n".join(lines) + "\n").encode()
