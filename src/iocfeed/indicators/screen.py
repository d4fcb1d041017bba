"""Screening: is a canonical indicator on a warning list, and so a false positive, not an IOC?

SOC teams block what the feed publishes; one private range, public resolver, CDN edge, top-ranked
domain or benign hash in it breaks their network or endpoints. `Screener.screen(type, value)` says
whether a value is on such a list (the pipeline stores a hit with status `false-positive` and the
list's name, out of the default feed); `Screener.explain` shows every list it was checked against.

Which lists screen which types, and why each was chosen or left out, is `screen_lists` (a table in
its docstring, and `CATALOG`). In short:

- IP addresses: private, reserved, documentation and non-global ranges, public DNS resolvers, CDN
  edges and a few shared front ends (Zscaler, Office 365, Gmail). Not cloud ranges: a VPS address is
  one tenant's and often truly malicious. An IPv4-mapped (`::ffff:a.b.c.d`) or NAT64
  (`64:ff9b::a.b.c.d`) IPv6 address is screened as the IPv4 address it carries.
- Domains: documentation and `.arpa` names with everything under them; top-ranked sites with their
  own subdomains (`mail.google.com`, not `victim.sharepoint.com` nor `x.github.io`).
- URLs: on their host only when the host is non-routable or a documentation name, or when the URL
  is a site's root (`https://www.google.com/`); a path on a top site (`docs.google.com/forms/...`)
  can be real phishing and is not screened for its host's rank.
- E-mail: only on a documentation domain (`bob@example.com`); freemail domains are top-ranked and
  are where attackers open accounts. Hashes: empty file, EICAR, known benign files, CA certificates.
- CVE and ATT&CK ids are never screened.

The operator allow-list (`allowlist`) wins over every list. Lookups are sets, dicts and one
`bisect` per address (`ipranges`), built once per process (`screen_index`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.allowlist import EMPTY_ALLOW_LIST, AllowList, parse_allow_list
from iocfeed.indicators.ipranges import IPV4_BITS, IPV6_BITS, format_address, ipv4_int, ipv6_int
from iocfeed.indicators.network import IPV4_CANONICAL_RE
from iocfeed.indicators.screen_index import CompiledLists, WarningList, compile_lists
from iocfeed.indicators.screen_lists import BUILTIN_ENTRIES, DEFAULT_LIST_IDS, HostUse, MatchKind
from iocfeed.indicators.types import IndicatorType as T

ALLOW_LIST_ID = "allowlist"
ALLOW_LIST_NAME = "operator allow-list"
_ALLOWED = -1  # the allow-list's position: before every warning list

_NEVER_SCREENED = frozenset({T.CVE, T.MITRE_ATTACK})
_HASH_TYPES = frozenset({T.MD5, T.SHA1, T.SHA256, T.SHA512})
# IPv6 prefixes whose last 32 bits are an IPv4 address: IPv4-mapped and the NAT64 well-known prefix.
_EMBEDDING_PREFIXES = frozenset({0xFFFF, 0x64FF9B << 64})
_AUTHORITY_END_RE = re.compile(r"[/?]")


@dataclass(frozen=True, slots=True)
class ScreenHit:
    """The list that screened a value: what the pipeline stores next to a false positive."""

    list_id: str  # short stable slug: `misp:public-dns-v4`, `iocfeed:arpa`, `allowlist`
    list_name: str  # the list's human name
    matched: str  # the entry that matched: a CIDR block, an address, a domain, a hash
    reason: str  # one sentence


@dataclass(frozen=True, slots=True)
class ListCheck:
    """One list a value was checked against, and the entry it matched (None when it did not)."""

    list_id: str
    list_name: str
    subject: str  # what was looked up: the value, a URL's host, an e-mail's domain
    matched: str | None


@dataclass(frozen=True, slots=True)
class Explanation:
    type: str
    value: str
    checks: tuple[ListCheck, ...]  # every list that applies, in priority order
    hit: ScreenHit | None  # the decisive hit: the first list in `checks` that matched
    decision: str

    def as_text(self) -> str:
        """A few lines for a terminal: the decision, then one line per list checked."""
        lines = [f"{self.value} ({self.type}): {'screened' if self.hit else 'not screened'}", self.decision]
        for check in self.checks:
            mark = "HIT" if check.matched is not None else " - "
            found = f" -> {check.matched}" if check.matched is not None else ""
            lines.append(f"  {mark} {check.list_id:<34} {check.subject}{found}   ({check.list_name})")
        return "\n".join(lines)


# What is looked up, as a plain tuple (built for every value screened): (kind, text, context).
# kind: "ipv4", "ipv6", "domain" or a hash type; context: _VALUE (the indicator itself), or the
# HostUse a list must allow when the text is a URL's host (root or not) or an e-mail's domain.
_Subject = tuple[str, str, str]
_VALUE = "value"
_CONTEXTS = (_VALUE, HostUse.ANY.value, HostUse.SITE_ROOT.value)


class Screener:
    """Screens canonical values against warning lists and an operator allow-list (read-only, so
    one instance can serve every thread)."""

    def __init__(self, lists: CompiledLists, allow_list: AllowList = EMPTY_ALLOW_LIST) -> None:
        self._lists = lists
        self._allow = allow_list
        self._has_allow = len(allow_list) > 0
        # (kind, context) -> positions of the lists that apply, in priority order, and as a set.
        self._order: dict[tuple[str, str], tuple[int, ...]] = {}
        for kind in (T.IPV4, T.IPV6, T.DOMAIN, *_HASH_TYPES):
            for context in _CONTEXTS:
                self._order[kind.value, context] = tuple(
                    position
                    for position, warning_list in enumerate(lists.lists)
                    if kind in warning_list.spec.types and _host_allows(warning_list.spec.hosts, context)
                )
        self._applies = {key: frozenset(positions) for key, positions in self._order.items()}

    @classmethod
    def default(cls, allow_list: Iterable[str] = (), *, lists: Iterable[str] | None = None) -> Screener:
        """The screener of `screen_lists.CATALOG` (or the list ids given) plus allow-list lines.

        The lists are read and indexed once per process; the allow-list lines are parsed each call
        (InvalidIndicator naming the line for a bad one).
        """
        compiled = compile_lists(DEFAULT_LIST_IDS if lists is None else tuple(lists))
        return cls(compiled, parse_allow_list(allow_list))

    @property
    def lists(self) -> tuple[WarningList, ...]:
        return self._lists.lists

    def screen(self, type: str, value: str) -> ScreenHit | None:
        """The first list (allow-list first) holding the canonical `value` of `type`, or None."""
        if not self._has_allow:  # the bulk of most feeds, and nearly all misses: nothing built
            if type == "ipv4" and not self._lists.ipv4.keys_at(_address("ipv4", value)):
                return None  # one bisect
            if type in _HASH_TYPES and value not in self._lists.hashes:
                return None  # one lookup (2.6 -> 0.3 µs a miss)
        subject = _subject(type, value)
        if subject is None:
            return None
        found = self._matches(type, value, subject)
        if not found:  # the usual case: nothing holds it
            return None
        applies = self._applies[subject[0], subject[2]]
        hits = [
            (position, matched) for position, matched in found if position == _ALLOWED or position in applies
        ]
        if not hits:
            return None
        position, matched = min(hits, key=lambda hit: hit[0])  # positions are priorities; allow-list is -1
        return self._hit(type, value, subject, position, matched)

    def explain(self, type: str, value: str) -> Explanation:
        """Every list that applies to `value`, whether it matched, and the decision."""
        subject = _subject(type, value)
        if subject is None:
            return Explanation(type, value, (), None, _decision(type, value, None))
        found = dict(self._matches(type, value, subject))
        positions = self._order[subject[0], subject[2]]
        if self._has_allow:
            positions = (_ALLOWED, *positions)
        checks: list[ListCheck] = []
        hit: ScreenHit | None = None
        for position in positions:
            matched = found.get(position)
            if matched is not None and hit is None:
                hit = self._hit(type, value, subject, position, matched)
            list_id, name = self._names(position)
            checks.append(ListCheck(list_id, name, subject[1], matched))
        return Explanation(type, value, tuple(checks), hit, _decision(type, value, hit))

    def _matches(self, type_: str, value: str, subject: _Subject) -> list[tuple[int, str]]:
        """(position, entry) of every list holding the subject, whether or not it applies here;
        usually empty. The allow-list's entry comes first, at position _ALLOWED."""
        kind, text, _ = subject
        found: list[tuple[int, str]] = []
        if self._has_allow:
            line = self._allow_line(type_, value, subject)
            if line is not None:
                found.append((_ALLOWED, self._allow.entries[line]))
        lists = self._lists
        if kind == "ipv4" or kind == "ipv6":
            bits = IPV4_BITS if kind == "ipv4" else IPV6_BITS
            address = _address(kind, text)
            for position in (lists.ipv4 if bits == IPV4_BITS else lists.ipv6).keys_at(address):
                block_set = lists.blocks.get((position, bits))
                # Not in one of the list's blocks: then it is one of its single addresses.
                found.append((position, (block_set and block_set.find(address)) or text))
        elif kind == "domain":
            found += lists.domains.matches(text)
        else:
            found += ((position, text) for position in lists.hashes.get(text, ()))
        return found

    def _allow_line(self, type_: str, value: str, subject: _Subject) -> int | None:
        """The allow-list line covering the value: the whole URL or e-mail address, else what is
        looked up (an address, a domain, a URL's host, an e-mail's domain, a hash)."""
        if type_ == "url" or type_ == "email":
            line = self._allow.find_value(type_, value)
            if line is not None:
                return line
        kind, text, _ = subject
        if kind == "ipv4" or kind == "ipv6":
            bits = IPV4_BITS if kind == "ipv4" else IPV6_BITS
            return self._allow.find_address(bits, _address(kind, text))
        if kind == "domain":
            return self._allow.find_domain(text)
        return self._allow.find_value(kind, text)

    # --- what a hit says ------------------------------------------------------------------------

    def _names(self, position: int) -> tuple[str, str]:
        if position == _ALLOWED:
            return ALLOW_LIST_ID, ALLOW_LIST_NAME
        warning_list = self._lists.lists[position]
        return warning_list.list_id, warning_list.name

    def _hit(self, type_: str, value: str, subject: _Subject, position: int, matched: str) -> ScreenHit:
        list_id, name = self._names(position)
        phrase = _phrase(type_, value, subject)
        if position == _ALLOWED:
            line = self._allow_line(type_, value, subject)
            reason = f"{phrase} is covered by {matched} (line {line}) on the {ALLOW_LIST_NAME}."
            return ScreenHit(list_id, name, matched, reason)
        spec = self._lists.lists[position].spec
        note = BUILTIN_ENTRIES.get(list_id, {}).get(matched)
        shown = f"{matched} ({note})" if note else matched
        if matched == subject[1]:
            where = f"is on '{name}'" if note is None else f"is {shown} on '{name}'"
        elif spec.match is MatchKind.CIDR:
            where = f"is in {shown} on '{name}'"
        else:
            where = f"is under {shown} on '{name}'"
        return ScreenHit(list_id, name, matched, f"{phrase} {where}: {spec.why}.")

    def __repr__(self) -> str:
        return f"Screener({len(self._lists.lists)} lists, {len(self._allow)} allow-list entries)"


def _subject(type_: str, value: str) -> _Subject | None:
    """What to look up for a `type_` value; None for types never screened."""
    if type_ == "ipv4" or type_ == "domain" or type_ in _HASH_TYPES:
        return (str(type_), value, _VALUE)  # str(): an IndicatorType member works as a type too
    if type_ == "ipv6":
        address = _address("ipv6", value)
        if address >> 32 in _EMBEDDING_PREFIXES:  # the IPv4 address it carries is what is routed
            return ("ipv4", format_address(IPV4_BITS, address & 0xFFFFFFFF), _VALUE)
        return ("ipv6", value, _VALUE)
    if type_ == "url":
        return _url_host(value)
    if type_ == "email":
        return ("domain", value.rpartition("@")[2], HostUse.ANY.value)
    if type_ in _NEVER_SCREENED:
        return None
    raise InvalidIndicator(f"{type_!r} is not an indicator type iocfeed knows.")


def _phrase(type_: str, value: str, subject: _Subject) -> str:
    """How a reason names what was looked up: the value, or the part of it that was."""
    if type_ == "url":
        return f"The host {subject[1]} of this URL"
    if type_ == "email":
        return f"The domain {subject[1]} of this address"
    if subject[1] != value:
        return f"The IPv4 address {subject[1]} inside {value}"
    return value


def _host_allows(list_hosts: HostUse, context: str) -> bool:
    if context == _VALUE:
        return True
    if context == HostUse.SITE_ROOT:
        return list_hosts is not HostUse.NONE
    return list_hosts is HostUse.ANY


def _address(kind: str, text: str) -> int:
    try:
        return ipv4_int(text) if kind == "ipv4" else ipv6_int(text)
    except OSError:
        raise InvalidIndicator(f"{text[:80]!r} is not an {kind} address.") from None


def _url_host(url: str) -> _Subject:
    """The host of a canonical URL, in the context of a site-root URL (path `/`, no query) or not."""
    rest = url.partition("://")[2]
    end = _AUTHORITY_END_RE.search(rest)
    authority, path_query = (rest[: end.start()], rest[end.start() :]) if end else (rest, "/")
    host_port = authority.rpartition("@")[2]
    if host_port.startswith("["):
        kind, host = "ipv6", host_port[1 : host_port.find("]")]
    else:
        host = host_port.partition(":")[0]
        kind = "ipv4" if IPV4_CANONICAL_RE.fullmatch(host) else "domain"
    return (kind, host, (HostUse.SITE_ROOT if path_query == "/" else HostUse.ANY).value)


def _decision(type_: str, value: str, hit: ScreenHit | None) -> str:
    if type_ in _NEVER_SCREENED:
        return "Not screened: CVE and ATT&CK ids are never screened."
    if hit is not None:
        return f"Screened: stored as false-positive with list '{hit.list_name}', out of the default feed. {hit.reason}"
    decision = f"Not screened: no list that applies to this {type_} holds it."
    if type_ == T.URL and _url_host(value)[2] == HostUse.ANY:
        decision += (
            " A URL with a path or query is screened on its host only for non-routable and documentation"
            " lists; rank, resolver and CDN lists apply to a site's root URL alone."
        )
    return decision
