"""Sigma rules as multi-document YAML, one document per rule, each opened by `---`, streamed.

Rule shapes (logsource category: field; field names from the Sigma taxonomy, which follows Sysmon
for the generic categories and the W3C extended log format for proxies):

    ipv4, ipv6   network_connection: DestinationIp
    domain       dns_query: QueryName, and network_connection: DestinationHostname (two rules,
                 `related` to each other as `similar`: DNS logs catch the lookup, connection logs
                 the traffic of a host that resolved the name elsewhere)
    url          proxy: c-uri (the taxonomy's "URL requested by client", matched whole)
    md5 sha1 sha256
                 process_creation: Hashes|contains 'SHA256=<HEX>', and file_event: the same (two
                 rules). Sysmon writes Hashes as `SHA1=..,MD5=..,SHA256=..` in upper case, so the value
                 is written that way (Sigma matching ignores case anyway). Sysmon's own file events
                 carry no hashes; the file_event rule is for EDR backends whose file events do
                 (Defender's DeviceFileEvents, for one).

sha512 (no common log source records it), email, CVE and ATT&CK records make no rule; a comment
after the last document counts them by type.

Every rule: `title` (the value cut at 100 characters: the schema allows 256), `id` (uuid5 of the
indicator id and the category: stable, so a re-export updates rather than duplicates), `status:
experimental` (`deprecated` for an indicator no longer active, with `level: informational`),
`description` (source, confidence, score, context), `references` (article and reference URLs),
`author`, `date` (first seen) and `modified` (updated), both YYYY-MM-DD as Sigma 2 asks, `tags`
(`attack.t1071`, `attack.command-and-control`, `tlp.green`...), `level` from the confidence band,
`falsepositives`.

Values come from untrusted feeds, so every string taken from data is a YAML double-quoted scalar with
`\\`, `"`, control and line-break characters escaped: a URL with `: `, `#`, quotes or a newline
cannot break out of its field. Inside detection values Sigma's own wildcards `*` and `?` (common in
URLs) and its escape character `\\` are escaped first, so a rule matches the value literally.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator

import msgspec

from iocfeed.indicators.vulns import TACTICS, attack_tactics
from iocfeed.scoring import decayed_score
from iocfeed.store.queries import IndicatorRow, SourceRef
from iocfeed.timeutil import day_string

Batch = list[tuple[IndicatorRow, SourceRef | None]]

# Namespace of rule ids: uuid5(SIGMA_RULE_NAMESPACE, "<indicator id>|<category>"). Fixed forever.
SIGMA_RULE_NAMESPACE = uuid.UUID("5a7c2e19-8f36-5b04-a2d1-c94e0b3f6a87")
TITLE_VALUE_CHARS = 100

# type -> [(logsource category, detection field, title wording)]
SHAPES: dict[str, list[tuple[str, str, str]]] = {
    "ipv4": [("network_connection", "DestinationIp", "Network connection to")],
    "ipv6": [("network_connection", "DestinationIp", "Network connection to")],
    "domain": [
        ("dns_query", "QueryName", "DNS query for"),
        ("network_connection", "DestinationHostname", "Network connection to"),
    ],
    "url": [("proxy", "c-uri", "Proxy request for")],
    "md5": [
        ("process_creation", "Hashes|contains", "Process image with hash"),
        ("file_event", "Hashes|contains", "File with hash"),
    ],
    "sha1": [
        ("process_creation", "Hashes|contains", "Process image with hash"),
        ("file_event", "Hashes|contains", "File with hash"),
    ],
    "sha256": [
        ("process_creation", "Hashes|contains", "Process image with hash"),
        ("file_event", "Hashes|contains", "File with hash"),
    ],
}
_HASH_PREFIX = {"md5": "MD5=", "sha1": "SHA1=", "sha256": "SHA256="}
FALSE_POSITIVES = {
    "ipv4": "Legitimate services on an address reassigned since it was reported",
    "ipv6": "Legitimate services on an address reassigned since it was reported",
    "domain": "A domain sinkholed, re-registered or shared with legitimate content",
    "url": "A page cleaned or replaced by benign content since it was reported",
}
LEVELS = {"high": "high", "medium": "medium", "low": "low"}
TLP_TAGS = {"high": "tlp.green", "medium": "tlp.amber", "low": "tlp.clear"}

_decode_list = msgspec.json.Decoder(list[str]).decode
# YAML double-quoted scalars: escape the quote, the backslash and whatever YAML would not read as a
# printable character or would read as a line break (NEL, LS, PS) or a byte-order mark.
_YAML_ESCAPE = re.compile(
    '["\\\\\u2028\u2029\ufeff]|[^\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]'
)
_YAML_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_SIGMA_SPECIALS = re.compile(r"[\\*?]")
_TAG_UNSAFE = re.compile(r"[^a-z0-9._-]")
_WHITESPACE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def yaml_quote(text: str) -> str:
    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if char in _YAML_SHORT:
            return _YAML_SHORT[char]
        code = ord(char)
        return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"

    return '"' + _YAML_ESCAPE.sub(escape, text) + '"'


def sigma_literal(text: str) -> str:
    """A Sigma value that matches `text` exactly: its wildcards and escape character escaped."""
    return _SIGMA_SPECIALS.sub(lambda m: "\\" + m.group(), text)


def rule_id(row: IndicatorRow, category: str) -> str:
    return str(uuid.uuid5(SIGMA_RULE_NAMESPACE, f"{row.id}|{category}"))


def sigma_documents(row: IndicatorRow, source: SourceRef | None, now: int) -> list[str]:
    """The YAML documents (each opened by `---`) of one record's rules; none for types without a
    rule shape. Written from a template, not a YAML library: the shape is fixed, every value from
    data goes through yaml_quote, and this is the hot loop of a large export."""
    shapes = SHAPES.get(row.type)
    if not shapes:
        return []
    ids = [rule_id(row, category) for category, _, _ in shapes]
    active = row.status == "active"
    score = decayed_score(row.type, row.base_score, row.last_seen, now)
    shown = _WHITESPACE.sub(" ", row.value)  # a title is one line, whatever the value holds
    shown = shown if len(shown) <= TITLE_VALUE_CHARS else shown[:TITLE_VALUE_CHARS] + "…"
    prefix = _HASH_PREFIX.get(row.type)
    detection_value = yaml_quote(sigma_literal(prefix + row.value.upper() if prefix else row.value))
    references = dict.fromkeys(u for u in (source and (source.article_url, source.reference_url)) or () if u)
    # The keys every rule of this record shares, in the order the Sigma specification lists them.
    shared = (
        f"status: {'experimental' if active else 'deprecated'}\n"
        f"description: {yaml_quote(_description(row, source, score))}\n"
        + ("references:\n" + "".join(f"    - {yaml_quote(u)}\n" for u in references) if references else "")
        + "author: iocfeed\n"
        f'date: "{day_string(row.first_seen)}"\n'
        f'modified: "{day_string(row.updated_at)}"\n'
        "tags:\n" + "".join(f"    - {tag}\n" for tag in _tags(row))
    )
    closing = (
        f"falsepositives:\n    - {yaml_quote(FALSE_POSITIVES.get(row.type, 'Unknown'))}\n"
        f"level: {LEVELS.get(row.confidence, 'medium') if active else 'informational'}\n"
    )
    documents = []
    for (category, field, wording), identifier in zip(shapes, ids, strict=True):
        related = "".join(f"    - id: {other}\n      type: similar\n" for other in ids if other != identifier)
        documents.append(
            f"---\ntitle: {yaml_quote(f'{wording} {shown} (iocfeed indicator)')}\n"
            f"id: {identifier}\n"
            + (f"related:\n{related}" if related else "")
            + shared
            + f"logsource:\n    category: {category}\n"
            f"detection:\n    selection:\n        {field}: {detection_value}\n    condition: selection\n"
            + closing
        )
    return documents


def sigma_chunks(batches: Iterable[Batch], *, now: int) -> Iterator[bytes]:
    """One chunk of documents per batch, then a comment counting the records that made no rule."""
    omitted: Counter[str] = Counter()
    for batch in batches:
        documents = []
        for row, source in batch:
            rules = sigma_documents(row, source, now)
            if not rules:
                omitted[row.type] += 1
            documents.extend(rules)
        if documents:
            yield "".join(documents).encode()
    if omitted:
        counts = ", ".join(f"{kind}: {count}" for kind, count in sorted(omitted.items()))
        yield f"# iocfeed: no Sigma rule shape for these records: {counts}\n".encode()


def _description(row: IndicatorRow, source: SourceRef | None, score: int) -> str:
    origin = f" reported by {source.feed_name} ({source.category} source)" if source is not None else ""
    text = f"Matches the {row.type} {row.value}{origin}; confidence {row.confidence}, score {score}."
    if row.status != "active":
        text += f" The indicator is {row.status}: kept for context, not for alerting."
    if row.context:
        text += f" Context: {row.context}"
    return text


def _tags(row: IndicatorRow) -> list[str]:
    tags: list[str] = []
    for attack_id in _decode_list(row.mitre_techniques):
        if attack_id in TACTICS:
            tags.append("attack." + TACTICS[attack_id].lower().replace(" ", "-"))
        else:
            tags.append("attack." + attack_id.lower())
            tags.extend("attack." + tactic for tactic in attack_tactics(attack_id))
    tags.append(TLP_TAGS.get(row.confidence, "tlp.amber"))
    # Sigma tags are `namespace.name` in [a-z0-9._-]; a stray character must not make a rule invalid.
    return list(dict.fromkeys(_TAG_UNSAFE.sub("-", tag) for tag in tags))
