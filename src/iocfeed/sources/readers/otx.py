"""AlienVault OTX: one page of `GET /api/v1/pulses/subscribed` -> raw records, and the next page's URL.

A pulse is a report with indicators; each indicator becomes a record carrying the pulse's name
(context), tags, industries, ATT&CK ids and first reference. OTX types without an iocfeed type
(CIDR, FilePath, Mutex, YARA, JA3, ...) are counted as skipped rows, not silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from iocfeed.errors import ImportFormatError
from iocfeed.sources.records import RawRecord, ReaderOptions

OTX_TYPES: dict[str, str] = {
    "IPv4": "ipv4",
    "IPv6": "ipv6",
    "domain": "domain",
    "hostname": "domain",
    "URL": "url",
    "URI": "url",
    "FileHash-MD5": "md5",
    "FileHash-SHA1": "sha1",
    "FileHash-SHA256": "sha256",
    "email": "email",
    "CVE": "cve",
}


@dataclass(slots=True)
class OtxPage:
    records: list[RawRecord] = field(default_factory=list)
    next: str | None = None


def read_page(stream: TextIO) -> OtxPage:
    try:
        document = json.load(stream)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"OTX answered with invalid JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(document, dict) or not isinstance(document.get("results"), list):
        raise ImportFormatError("OTX answered without a results list")
    page = OtxPage(next=document.get("next") or None)
    for pulse in document["results"]:
        if isinstance(pulse, dict):
            page.records.extend(_pulse_records(pulse))
    return page


def read(stream: TextIO, options: ReaderOptions | None = None) -> Iterator[RawRecord]:
    """One page as a plain reader (for files saved from the API)."""
    yield from read_page(stream).records


def _pulse_records(pulse: dict[str, Any]) -> Iterator[RawRecord]:
    pulse_id = pulse.get("id", "?")
    name = pulse.get("name") or None
    tags = [t for t in pulse.get("tags", []) if isinstance(t, str)]
    industries = [i for i in pulse.get("industries", []) if isinstance(i, str)]
    attack = [a.get("id") for a in pulse.get("attack_ids", []) if isinstance(a, dict) and a.get("id")]
    references = [r for r in pulse.get("references", []) if isinstance(r, str) and r.startswith("http")]
    for index, indicator in enumerate(pulse.get("indicators", []), start=1):
        location = f"pulse {pulse_id} indicator {index}"
        if not isinstance(indicator, dict):
            yield RawRecord(location, "", error="indicator is not an object")
            continue
        otx_type = indicator.get("type", "")
        ours = OTX_TYPES.get(otx_type)
        if ours is None:
            yield RawRecord(
                location,
                str(indicator.get("indicator", "")),
                error=f"OTX type {otx_type!r} has no iocfeed type",
                skipped=True,
            )
            continue
        if indicator.get("is_active") == 0:
            continue  # OTX itself retired it
        yield RawRecord(
            location,
            indicator.get("indicator", ""),
            type=ours,
            first_seen=indicator.get("created") or pulse.get("created"),
            tags=tags,
            context=indicator.get("title") or name,
            industries=industries,
            reference_url=references[0] if references else None,
            mitre_techniques=attack,
        )
