"""Scan a text for indicators: one pass of the candidate regex, one decision per candidate.

`scan` yields every indicator occurrence, in text order, canonical, with its span; `extract` (the
public API) deduplicates and adds context. The candidate regex finds shapes; the canonicalizers
(`canonical`, `network`, `vulns`) decide validity and canonical form; `extract_rules` holds the
judgement calls. What belongs where: a URL's host and an e-mail address's domain are part of the
URL or address (a token is consumed whole), so they are reported on their own only where they
also appear on their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators import extract_rules as rules
from iocfeed.indicators.canonical import canonicalize
from iocfeed.indicators.extract_patterns import (
    CANDIDATE_RE,
    DEFANGED_DOT_RE,
    HEX_CONTINUATION_RE,
    INVISIBLE_RE,
    URL_CONTINUATION_RE,
    drop_invisible,
    mask_escapes,
)
from iocfeed.indicators.hashes import HASH_TYPE_BY_LENGTH
from iocfeed.indicators.network import IPV4_LOOSE_RE, canonicalize_domain, canonicalize_ipv4
from iocfeed.indicators.types import IndicatorType
from iocfeed.indicators.vulns import canonicalize_attack, canonicalize_cve

T = IndicatorType

_WRAP_WIDTH = 60  # a line at least this long that ends inside a value was wrapped, not ended


class Found(NamedTuple):
    """One occurrence: its type, canonical value, and span in the scanned text."""

    type: IndicatorType
    value: str
    start: int
    end: int


class _State:
    """What one candidate's decision leaves for the next ones, and what holds for the whole text."""

    __slots__ = ("has_invisible", "last_version_end", "skip_until")

    def __init__(self, work: str) -> None:
        self.skip_until = 0  # a wrapped value consumed text the regex has not reached yet
        self.last_version_end = -1  # for `versions 1.2.3.4, 1.2.3.5` lists
        self.has_invisible = INVISIBLE_RE.search(work) is not None  # most texts have none

    def visible(self, raw: str) -> str:
        return drop_invisible(raw) if self.has_invisible else raw


def scan(text: str) -> Iterator[Found]:
    """Every indicator occurrence in `text`, in order (the same value may come more than once)."""
    work = mask_escapes(text)  # same length as `text`: spans hold for both
    state = _State(work)
    for match in CANDIDATE_RE.finditer(work):
        kind = match.lastgroup
        if kind == "junk" or kind is None:
            continue
        if match.start(kind) < state.skip_until:
            continue
        if kind == "hex":
            yield from _hex(work, match, state)
        elif (found := _HANDLERS[kind](work, match, state)) is not None:
            yield found


# --- Digests ------------------------------------------------------------------------------------

_REST_OF_LINE_EMPTY_RE = re.compile(r"[ \t]*(?:\r?\n|\Z)")
_LEADING_HEX_RE = re.compile(r"[0-9A-Fa-f]+")


def _hex(work: str, match: re.Match[str], state: _State) -> list[Found]:
    """A digest; or one wrapped over lines; or a list of digests one per line; or a hex blob.

    A run that a line break continues with more hex is read with its continuation lines: if the
    pieces together have a digest's length and some piece alone has not (or the first piece ends a
    long line of prose, which a mail client wrapped), it is one wrapped digest;
    if the last piece fills its line and has no digest length, it is a blob (a hex dump) and none
    of it is reported; otherwise each piece of a digest's length is a digest of its own.
    """
    pieces = [match.span("hex")]
    position = pieces[0][1]
    while (more := HEX_CONTINUATION_RE.match(work, position)) is not None:
        pieces.append(more.span(1))
        position = more.end()
    if len(pieces) == 1:
        found = _digest(work, *pieces[0])
        return [] if found is None else [found]
    lengths = [end - start for start, end in pieces]
    total = sum(lengths)
    state.skip_until = pieces[-1][1]
    if total in HASH_TYPE_BY_LENGTH and (
        any(length not in HASH_TYPE_BY_LENGTH for length in lengths) or _ends_wrapped_line(work, pieces[0])
    ):
        digest = "".join(work[start:end] for start, end in pieces).lower()
        return [Found(HASH_TYPE_BY_LENGTH[total], digest, pieces[0][0], pieces[-1][1])]
    if lengths[-1] not in HASH_TYPE_BY_LENGTH and _REST_OF_LINE_EMPTY_RE.match(work, pieces[-1][1]):
        return []  # a hex dump
    return [found for start, end in pieces if (found := _digest(work, start, end)) is not None]


def _ends_wrapped_line(work: str, piece: tuple[int, int]) -> bool:
    """Whether `piece` ends a long line of prose (hard-wrapped), not a line of an IOC list."""
    line_start = work.rfind("\n", 0, piece[0]) + 1
    return piece[1] - line_start >= _WRAP_WIDTH and bool(work[line_start : piece[0]].strip())


def _digest(work: str, start: int, end: int) -> Found | None:
    kind = HASH_TYPE_BY_LENGTH.get(end - start)
    if kind is None or (kind == T.MD5 and rules.is_guid(work, start, end)):
        return None
    return Found(kind, work[start:end].lower(), start, end)


def _leading_digest(work: str, start: int) -> Found | None:
    """`<sha256>.exe`, `<md5>.zip`: a file named by its digest (the name is not a domain)."""
    run = _LEADING_HEX_RE.match(work, start)
    if run is not None and work[run.end() : run.end() + 1] == ".":
        return _digest(work, start, run.end())
    return None


# --- Ids ----------------------------------------------------------------------------------------


def _cve(work: str, match: re.Match[str], state: _State) -> Found | None:
    start, end = match.span("cve")
    try:
        return Found(T.CVE, canonicalize_cve(work[start:end]), start, end)
    except InvalidIndicator:
        return None


def _attack(work: str, match: re.Match[str], state: _State) -> Found | None:
    start, end = match.span("attack")
    try:
        return Found(T.MITRE_ATTACK, canonicalize_attack(work[start:end]), start, end)
    except InvalidIndicator:  # not known to ATT&CK: a typo or a model number
        return None


def _ipv6(work: str, match: re.Match[str], state: _State) -> Found | None:
    start, end = match.span("ipv6")
    raw = work[start:end]
    if not raw.strip(":") or (work[end : end + 1] == "/" and work[end + 1 : end + 2].isdigit()):
        return None  # `::` alone (C++ scopes, ellipses), or a network range
    try:
        return Found(T.IPV6, canonicalize(T.IPV6, raw), start, end)
    except InvalidIndicator:  # times (`10:30:00`), MAC addresses
        return None


# --- URLs, e-mail addresses, hosts --------------------------------------------------------------

_CONTINUATION_MARKS = frozenset("/?=&%#~_.")
_AFTER_UNKNOWN_SCHEME_RE = re.compile(r"(?:://|\[://\]|\[:\]//)$")
_CIDR_RE = re.compile(r"/[0-9]{1,3}")


def _token(work: str, match: re.Match[str], state: _State) -> Found | None:
    start, end = match.span("tok")
    host_start, host_end = match.span("host")
    if match.group("scheme") is not None:
        return _url(work, start, end, state)
        return None
    if match.group("local") is not None:
        return _email(work, start, host_end, state)
        return None
    path_start = match.start("path")
    if path_start >= 0:
        path = work[path_start : rules.trim_end(work, path_start, end)]
        if _CIDR_RE.fullmatch(path) and path != "/32":
            return None  # a network range: no indicator type holds it, and its first address is not it
        if _is_schemeless_url(work, start, host_end, path, state):
            return _url(work, start, end, state)
            return None
    return _host(work, host_start, host_end, state)


def _is_schemeless_url(work: str, start: int, host_end: int, path: str, state: _State) -> bool:
    """`evil.com/gate.php` and `1.2.3.4/bins.sh` are URLs; `1.2.3.4/32`, `evil.com/`,
    `Safari.app/Contents`, and the rest of `tcp://1.2.3.4/x` (a scheme we do not keep) are not."""
    if path in ("", "/") or path.startswith("#"):
        return False
    if _AFTER_UNKNOWN_SCHEME_RE.search(work, max(0, start - 5), start):
        return False
    raw_host = work[start:host_end]
    host = _refanged_host(raw_host, state)
    if IPV4_LOOSE_RE.fullmatch(host):
        return not _CIDR_RE.fullmatch(path)
    try:
        domain = canonicalize_domain(host)
    except InvalidIndicator:
        return False
    return not (rules.is_file_name(domain, raw_host) or rules.is_code_identifier(raw_host))


def _url(work: str, start: int, end: int, state: _State) -> Found | None:
    trimmed = rules.trim_end(work, start, end)
    raw = work[start:trimmed]
    if trimmed == end and (more := URL_CONTINUATION_RE.match(work, end)) is not None:
        line_start = work.rfind("\n", 0, end) + 1
        if end - line_start >= _WRAP_WIDTH and _CONTINUATION_MARKS.intersection(more.group(1)):
            trimmed = rules.trim_end(work, start, more.end())
            raw = work[start:trimmed].replace("\r", "").replace("\n", "")
    try:
        return Found(T.URL, canonicalize(T.URL, state.visible(raw)), start, trimmed)
    except InvalidIndicator:
        return None


def _email(work: str, start: int, end: int, state: _State) -> Found | None:
    try:
        return Found(T.EMAIL, canonicalize(T.EMAIL, state.visible(work[start:end])), start, end)
    except InvalidIndicator:
        return None


def _host(work: str, start: int, end: int, state: _State) -> Found | None:
    """A host name or IPv4 address standing alone (a port after it is not part of it)."""
    start, end = rules.strip_emphasis(work, start, end)
    raw = work[start:end]
    defanged = rules.is_defanged(raw)
    host = _refanged_host(raw, state, defanged)
    if IPV4_LOOSE_RE.fullmatch(host):
        try:
            address = canonicalize_ipv4(host)
        except InvalidIndicator:  # an octet above 255: a version or a serial number
            return None
        if not defanged and rules.is_version_number(work, start, end, state.last_version_end):
            state.last_version_end = end
            return None
        return Found(T.IPV4, address, start, end)
        return None
    try:
        domain = canonicalize_domain(host)
    except InvalidIndicator:
        return _leading_digest(work, start)
        return None
    if rules.is_file_name(domain, raw) or rules.is_code_identifier(raw):
        return _leading_digest(work, start)
        return None
    if rules.is_spelled_dot_prose(raw, domain):
        return None
    return Found(T.DOMAIN, domain, start, end)


def _refanged_host(raw: str, state: _State, defanged: bool | None = None) -> str:
    """The host a candidate spells; most are written plainly and need no refanging."""
    if defanged is None:
        defanged = rules.is_defanged(raw)
    visible = state.visible(raw)
    return DEFANGED_DOT_RE.sub(".", visible) if defanged else visible


_HANDLERS = {"hex": _hex, "cve": _cve, "attack": _attack, "ipv6": _ipv6, "tok": _token}
