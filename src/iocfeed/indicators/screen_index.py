"""The warning lists of `screen_lists.CATALOG`, read from package data and built into lookups once.

Lists are read straight from the JSON files `pymispwarninglists` bundles (its own loader parses and
schema-checks all 119 lists, which takes seconds) and from the Public Suffix List file that
`publicsuffixlist` bundles; nothing is downloaded. Compiled lookups are cached for the process, so
building a second screener costs nothing. Only the lists asked for are read.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
import socket
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from iocfeed.indicators.hashes import HASH_LENGTHS
from iocfeed.indicators.ipranges import IPV4_BITS, IPV6_BITS, BlockSet, RangeIndex, parse_network
from iocfeed.indicators.screen_lists import (
    BUILTIN_ENTRIES,
    DYNAMIC_DNS_LIST,
    SPECS,
    USER_SUBDOMAIN_PLATFORMS,
    ListSpec,
    MatchKind,
)

HASH_TYPES = frozenset(HASH_LENGTHS)
HEX_LENGTHS = frozenset(HASH_LENGTHS.values())
# A rule is the first word of a line that is not a comment (`//`) or an exception (`!`).
_PSL_RULE_RE = re.compile(r"^[^/!\s]\S*", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class WarningList:
    """One list as screening uses it: its policy (`spec`), its human name, how many entries it holds."""

    spec: ListSpec
    name: str
    size: int

    @property
    def list_id(self) -> str:
        return self.spec.list_id


# How far up a name's parents a domain list reaches (small ints: compared per label per lookup).
_EXACT, _SUFFIX, _RANKED = 0, 1, 2
_REACH = {MatchKind.EXACT: _EXACT, MatchKind.SUFFIX: _SUFFIX, MatchKind.RANKED: _RANKED}


class DomainIndex:
    """Every domain list in one dict, walked once from a name up through its parents.

    A name matches an *exact* list only as itself, a *suffix* list as itself or under any entry,
    and a *ranked* list as itself or under an entry unless a name in between is a stop (a public
    suffix, a dynamic-DNS or user-subdomain platform): `x.github.io` is not GitHub's own.
    """

    __slots__ = ("_entries", "_reach", "_stops")

    def __init__(self) -> None:
        self._entries: dict[str, tuple[int, ...]] = {}  # name -> positions of the lists holding it
        self._reach: dict[int, int] = {}
        self._stops: dict[str, tuple[int, ...]] = {}  # name -> ranked positions that stop there

    def add(self, position: int, kind: MatchKind, names: frozenset[str], stops: frozenset[str]) -> None:
        self._reach[position] = _REACH[kind]
        for table, keys in ((self._entries, names), (self._stops, stops)):
            for name in keys:
                table[name] = (*table.get(name, ()), position)

    def matches(self, name: str) -> list[tuple[int, str]]:
        """(position, entry matched) for every list holding `name`, most specific entry per list."""
        found: list[tuple[int, str]] = []
        stopped: tuple[int, ...] = ()
        candidate, is_parent = name, False
        while True:
            held = self._entries.get(candidate)
            if held is not None:
                for position in held:
                    reach = self._reach[position]
                    reaches = (
                        not is_parent or reach == _SUFFIX or (reach == _RANKED and position not in stopped)
                    )
                    if reaches and all(position != seen for seen, _ in found):
                        found.append((position, candidate))
            dot = candidate.find(".")
            if dot < 0:
                return found
            candidate, is_parent = candidate[dot + 1 :], True
            stops = self._stops.get(candidate)
            if stops is not None:  # names under this parent are not the ranked site's own
                stopped += stops


@dataclass(frozen=True, slots=True)
class CompiledLists:
    lists: tuple[WarningList, ...]  # priority order; a list's position is its key everywhere below
    ipv4: RangeIndex
    ipv6: RangeIndex
    blocks: dict[tuple[int, int], BlockSet]  # (position, address bits) -> that list's wider blocks
    domains: DomainIndex
    hashes: dict[str, tuple[int, ...]]  # hex digest (any hash type) -> positions holding it


def _misp_lists_dir() -> Path:
    # find_spec locates the package without importing it (its import pulls in jsonschema).
    spec = importlib.util.find_spec("pymispwarninglists")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pymispwarninglists is not installed; it ships the MISP warning lists.")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "misp-warninglists" / "lists"


def _read_misp_list(directory: str) -> tuple[str, tuple[str, ...]]:
    """(name, entries) of one MISP warning list."""
    path = _misp_lists_dir() / directory / "list.json"
    try:
        with path.open("rb") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise RuntimeError(
            f"The installed pymispwarninglists has no {directory!r} list ({path}); "
            "update screen_lists.CATALOG to the lists it ships."
        ) from None
    return data["name"], tuple(data["list"])


def _entries(spec: ListSpec) -> tuple[str, tuple[str, ...]]:
    if spec.list_id in BUILTIN_ENTRIES:
        return spec.name, tuple(BUILTIN_ENTRIES[spec.list_id])
    return _read_misp_list(spec.list_id.removeprefix("misp:"))


def _public_suffix_stops() -> list[str]:
    """Every name the bundled Public Suffix List (ICANN and private sections) makes a suffix.

    A wildcard rule `*.compute.amazonaws.com` stops at `compute.amazonaws.com` itself: stopping one
    label early can only screen less. Exception rules (`!`) are ignored for the same reason.
    """
    text = files("publicsuffixlist").joinpath("public_suffix_list.dat").read_text(encoding="utf-8")
    return [rule.removeprefix("*.") for rule in _PSL_RULE_RE.findall(text) if rule.isascii()]


def _ranked_stops(ranked: frozenset[str]) -> frozenset[str]:
    """The names at or under a ranked entry where subdomains stop being the ranked site's own."""
    dynamic = [name.lstrip(".") for name in _read_misp_list(DYNAMIC_DNS_LIST)[1]]
    # Ranked entries have two labels or more, so a candidate whose last two labels end no ranked
    # entry cannot matter: that one test rules out nearly all of the ~45,000 candidates.
    ranked_tails = {_last_two_labels(name) for name in ranked}
    candidates = itertools.chain(_public_suffix_stops(), dynamic, USER_SUBDOMAIN_PLATFORMS)
    kept: set[str] = set()
    for name in candidates:
        if _last_two_labels(name) not in ranked_tails:
            continue
        suffix = name
        while True:  # keep `name` if it or a parent is ranked: only those can change a lookup
            if suffix in ranked:
                kept.add(name)
                break
            dot = suffix.find(".")
            if dot < 0:
                break
            suffix = suffix[dot + 1 :]
    return frozenset(kept)


def _last_two_labels(name: str) -> str:
    return name[name.rfind(".", 0, name.rfind(".")) + 1 :]


@lru_cache(maxsize=4)
def compile_lists(list_ids: tuple[str, ...]) -> CompiledLists:
    """Read and index the lists named (ids from `screen_lists.CATALOG`), in the priority given."""
    unknown = [list_id for list_id in list_ids if list_id not in SPECS]
    if unknown:
        raise ValueError(f"unknown warning lists: {', '.join(unknown)}")
    lists: list[WarningList] = []
    blocks: dict[tuple[int, int], BlockSet] = {}
    singles: dict[tuple[int, int], list[int]] = {}  # (position, bits) -> single addresses
    domains = DomainIndex()
    hashes: dict[str, tuple[int, ...]] = {}
    for position, list_id in enumerate(list_ids):
        spec = SPECS[list_id]
        name, entries = _entries(spec)
        if spec.match is MatchKind.CIDR:
            size = 0
            for bits, (family_blocks, points) in _parse_cidr_entries(entries).items():
                if family_blocks:
                    blocks[position, bits] = BlockSet(bits, family_blocks)
                if points:
                    singles[position, bits] = points
                size += len(family_blocks) + len(points)
        elif spec.types <= HASH_TYPES:
            size = _add_hashes(hashes, entries, position)
        else:
            names = frozenset(entry.strip().lstrip(".").lower() for entry in entries)
            stops = _ranked_stops(names) if spec.match is MatchKind.RANKED else frozenset()
            domains.add(position, spec.match, names, stops)
            size = len(names)
        lists.append(WarningList(spec, name, size))
    return CompiledLists(
        lists=tuple(lists),
        ipv4=_range_index(blocks, singles, IPV4_BITS),
        ipv6=_range_index(blocks, singles, IPV6_BITS),
        blocks=blocks,
        domains=domains,
        hashes=hashes,
    )


def _parse_cidr_entries(entries: tuple[str, ...]) -> dict[int, tuple[list[tuple[int, int]], list[int]]]:
    """By address family (only those present): the (first, last) of each block, and single addresses."""
    try:  # resolver lists are tens of thousands of bare IPv4 addresses: one fast pass, no tuples
        pton, from_bytes, inet = socket.inet_pton, int.from_bytes, socket.AF_INET
        return (
            {IPV4_BITS: ([], [from_bytes(pton(inet, entry), "big") for entry in entries])} if entries else {}
        )
    except OSError:
        pass
    by_family: dict[int, tuple[list[tuple[int, int]], list[int]]] = {}
    for entry in entries:
        bits, first, last = parse_network(entry, strict=False)
        family_blocks, points = by_family.setdefault(bits, ([], []))
        if first == last:
            points.append(first)
        else:
            family_blocks.append((first, last))
    return by_family


def _range_index(
    blocks: dict[tuple[int, int], BlockSet], singles: dict[tuple[int, int], list[int]], bits: int
) -> RangeIndex:
    # Each list's blocks with the ones nested in a wider block of the same list already dropped.
    return RangeIndex(
        (
            (first, last, position)
            for (position, family), block_set in blocks.items()
            if family == bits
            for first, last in block_set.blocks()
        ),
        ((position, points) for (position, family), points in singles.items() if family == bits),
    )


def _add_hashes(hashes: dict[str, tuple[int, ...]], entries: tuple[str, ...], position: int) -> int:
    """Add a list's digests (the hex text itself: converting 200,000 of them to bytes would save
    a few MB and cost a tenth of a second). Entries of lengths no indicator type has (sha224,
    ssdeep) are skipped; the length also tells md5 from sha1 from sha256 from sha512."""
    single = (position,)  # one shared tuple for every digest only this list holds
    # The usual case is all in C: entries already lower-case (kept as they are, not copied) and
    # all of a hash length.
    lowered = entries if all(map(str.islower, entries)) else tuple(map(str.lower, entries))
    if set(map(len, lowered)) <= HEX_LENGTHS:
        digests = set(lowered)
    else:
        digests = {entry for entry in lowered if len(entry) in HEX_LENGTHS}
    # No hex check: a malformed entry of the right length can never equal a canonical digest.
    shared = digests & hashes.keys()
    hashes.update(dict.fromkeys(digests - shared, single))
    for digest in shared:
        hashes[digest] = (*hashes[digest], position)
    return len(digests)
