"""The operator allow-list: values an operator says are theirs or harmless, which screening always marks.

The caller reads the file (its path comes from settings) and hands the lines here. One entry a line;
`#` starts a comment (at the start of a line, or after white space); blank lines are skipped:

    198.51.100.7              one value of any type, auto-detected and canonicalized; defanged is fine
    hxxps://intranet[.]example[.]com/login
    203.0.113.0/24            an IPv4 or IPv6 range (host bits must be zero)
    2001:db8:42::/48
    *.example.com             a domain and every name under it (`.example.com` means the same)

An IP or domain entry also covers URLs on that host and, for a domain, e-mail addresses there: the
operator is saying the host is theirs. CVE and ATT&CK ids are never screened, so they are an error
here, as is any line that is not a valid indicator; the reason names the line number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.canonical import canonicalize, canonicalize_any
from iocfeed.indicators.ipranges import IPV4_BITS, MAX_KEY, RangeIndex, format_network, parse_network
from iocfeed.indicators.refang import refang
from iocfeed.indicators.types import IndicatorType

_COMMENT_RE = re.compile(r"(?:^|\s)#.*")
# Digits and dots, or hex with a colon, then a prefix length: `cafe.de/12` is a URL, not a range.
_CIDR_RE = re.compile(r"(?:[0-9.]+|[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*)/[0-9]+")
_NEVER_SCREENED = (IndicatorType.CVE, IndicatorType.MITRE_ATTACK)


@dataclass(frozen=True, slots=True)
class AllowList:
    """Parsed allow-list entries, each remembered with its line number (for the hit's reason)."""

    entries: dict[int, str]  # line number -> the entry in canonical form, as a hit shows it
    values: dict[tuple[str, str], int]  # (type, canonical value) -> line: URLs, e-mails, hashes
    domains: dict[str, int]  # exact domain -> line
    suffixes: dict[str, int]  # `example.com` from `*.example.com` -> line
    ipv4: RangeIndex  # keys are line numbers
    ipv6: RangeIndex

    def __len__(self) -> int:
        return len(self.entries)

    def find_value(self, type_: str, value: str) -> int | None:
        return self.values.get((type_, value))

    def find_domain(self, name: str) -> int | None:
        """The line of the first entry covering `name`: the exact name, then parents nearest first."""
        line = self.domains.get(name)
        if line is not None or not self.suffixes:
            return line
        suffix = name
        while True:
            line = self.suffixes.get(suffix)
            if line is not None:
                return line
            dot = suffix.find(".")
            if dot < 0:
                return None
            suffix = suffix[dot + 1 :]

    def find_address(self, bits: int, address: int) -> int | None:
        lines = (self.ipv4 if bits == IPV4_BITS else self.ipv6).keys_at(address)
        return lines[0] if lines else None


EMPTY_ALLOW_LIST = AllowList({}, {}, {}, {}, RangeIndex(()), RangeIndex(()))


def parse_allow_list(lines: Iterable[str]) -> AllowList:
    """Parse allow-list lines; InvalidIndicator with `allow-list line N: <reason>` for a bad one."""
    entries: dict[int, str] = {}
    values: dict[tuple[str, str], int] = {}
    domains: dict[str, int] = {}
    suffixes: dict[str, int] = {}
    ranges: dict[int, list[tuple[int, int, int]]] = {32: [], 128: []}
    for number, line in enumerate(lines, start=1):
        text = _COMMENT_RE.sub("", line).strip()
        if not text:
            continue
        if number > MAX_KEY:
            raise InvalidIndicator(f"allow-list line {number}: an allow-list holds at most {MAX_KEY} lines.")
        try:
            if text.startswith(("*.", ".")):
                name = canonicalize(IndicatorType.DOMAIN, text.removeprefix("*").removeprefix("."))
                suffixes.setdefault(name, number)
                entries[number] = f"*.{name}"
                continue
            refanged = refang(text)
            if _CIDR_RE.fullmatch(refanged):
                try:
                    bits, first, last = parse_network(refanged, strict=True)
                except ValueError as exc:
                    raise InvalidIndicator(f"{exc}.") from None
                ranges[bits].append((first, last, number))
                entries[number] = format_network(bits, first, last)
                continue
            kind, value = canonicalize_any(text)
        except InvalidIndicator as exc:
            raise InvalidIndicator(f"allow-list line {number}: {exc.reason}") from None
        if kind in _NEVER_SCREENED:
            raise InvalidIndicator(
                f"allow-list line {number}: {value} is a {kind.value} id; those are never screened, "
                "so an allow-list entry for one would do nothing."
            )
        entries[number] = value
        if kind in (IndicatorType.IPV4, IndicatorType.IPV6):
            bits, first, last = parse_network(value, strict=True)
            ranges[bits].append((first, last, number))
        elif kind == IndicatorType.DOMAIN:
            domains.setdefault(value, number)
        else:
            values.setdefault((kind.value, value), number)
    return AllowList(entries, values, domains, suffixes, RangeIndex(ranges[32]), RangeIndex(ranges[128]))
