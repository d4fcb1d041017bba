"""IP address ranges as integers, looked up with one `bisect` however many lists hold them.

Warning lists are CIDR blocks; screening asks "which lists cover this address?" for every address a
feed publishes, millions a day. `RangeIndex` cuts the address line at every block boundary of every
list into segments, each labelled with the keys (list positions, allow-list lines) covering it, so
a lookup is one binary search and two list reads: no scan over lists or blocks. `BlockSet` keeps one
list's blocks to name the block that matched, which only a hit (or `explain`) needs.
"""

from __future__ import annotations

import ipaddress
import socket
from bisect import bisect_right
from collections.abc import Iterable

IPV4_BITS = 32
IPV6_BITS = 128

# Events are packed into one int (point, then end-before-start, then key) so that sorting a few
# hundred thousand of them is a plain int sort rather than a tuple sort.
_KEY_BITS = 24
_KEY_MASK = (1 << _KEY_BITS) - 1
_START_FLAG = 1 << _KEY_BITS
_POINT_SHIFT = _KEY_BITS + 1
MAX_KEY = _KEY_MASK


def ipv4_int(address: str) -> int:
    """`10.0.0.1` as an int; OSError if it is not a dotted quad (inet_pton is strict, unlike aton)."""
    return int.from_bytes(socket.inet_pton(socket.AF_INET, address), "big")


def ipv6_int(address: str) -> int:
    return int.from_bytes(socket.inet_pton(socket.AF_INET6, address), "big")


def parse_network(text: str, *, strict: bool) -> tuple[int, int, int]:
    """(address bits, first, last) of `192.0.2.0/24`, `192.0.2.7` or `2001:DB8::/32`.

    With `strict`, host bits set after the prefix (`10.0.0.1/8`) are an error naming the network
    meant; without it they are cleared, as published lists sometimes carry them.
    """
    address, slash, length_text = text.strip().partition("/")
    bits = IPV6_BITS if ":" in address else IPV4_BITS
    try:
        value = ipv6_int(address) if bits == IPV6_BITS else ipv4_int(address)
    except OSError:
        raise ValueError(f"{address!r} is not an IP address") from None
    if not slash:
        return bits, value, value
    if not (length_text.isascii() and length_text.isdigit()) or int(length_text) > bits:
        raise ValueError(f"{text.strip()!r} has a prefix length that is not 0-{bits}")
    host_mask = (1 << (bits - int(length_text))) - 1
    if value & host_mask:
        if strict:
            meant = format_network(bits, value & ~host_mask, value | host_mask)
            raise ValueError(f"{text.strip()!r} has host bits set; the network is {meant}")
        value &= ~host_mask
    return bits, value, value | host_mask


def format_address(bits: int, value: int) -> str:
    if bits == IPV4_BITS:  # on every IPv4 hit: inet_ntop is several times quicker than ipaddress
        return socket.inet_ntop(socket.AF_INET, value.to_bytes(4, "big"))
    return str(ipaddress.IPv6Address(value))  # its compressed form is the canonical one


def format_network(bits: int, first: int, last: int) -> str:
    """`203.0.113.0/24`, or the bare address for a single-address block."""
    if first == last:
        return format_address(bits, first)
    return f"{format_address(bits, first)}/{bits - (last - first + 1).bit_length() + 1}"


def _check_key(key: int) -> None:
    if not 0 <= key <= MAX_KEY:
        raise ValueError(f"range key {key} is outside 0-{MAX_KEY}")


class RangeIndex:
    """The keys whose ranges cover an address, in ascending key order, from one bisect.

    Single addresses (most of a resolver list) are kept in a dict instead: cutting the line at
    each of them would double the segments and the build time for nothing a dict cannot do.
    """

    __slots__ = ("_bounds", "_label_ids", "_labels", "_points")

    def __init__(
        self, ranges: Iterable[tuple[int, int, int]], points: Iterable[tuple[int, Iterable[int]]] = ()
    ) -> None:
        """`ranges` are (first, last, key), `points` are (key, single addresses); 0 <= key <= MAX_KEY.
        Ranges may overlap or nest."""
        events: list[int] = []
        self._points: dict[int, tuple[int, ...]] = {}
        singles: dict[int, list[int]] = {}
        for first, last, key in ranges:
            _check_key(key)
            if first == last:
                singles.setdefault(key, []).append(first)
                continue
            events.append((first << _POINT_SHIFT) | _START_FLAG | key)
            events.append(((last + 1) << _POINT_SHIFT) | key)
        for key, addresses in (*singles.items(), *points):
            _check_key(key)
            self._add_points(key, addresses)
        events.sort()
        self._bounds: list[int] = []  # segment i covers [bounds[i], bounds[i + 1])
        self._label_ids: list[int] = []
        self._labels: list[tuple[int, ...]] = [()]
        label_ids: dict[tuple[int, ...], int] = {(): 0}
        active: dict[int, int] = {}  # key -> how many of its ranges are open here
        point = None
        for event in events:
            event_point = event >> _POINT_SHIFT
            if event_point != point:
                if point is not None:
                    self._close_segment(point, active, label_ids)
                point = event_point
            key = event & _KEY_MASK
            if event & _START_FLAG:
                active[key] = active.get(key, 0) + 1
            elif active[key] == 1:
                del active[key]
            else:
                active[key] -= 1
        if point is not None:
            self._close_segment(point, active, label_ids)

    def _add_points(self, key: int, addresses: Iterable[int]) -> None:
        # Set operations and dict.fromkeys: tens of thousands of resolver addresses in C, not a loop.
        fresh = set(addresses)
        shared = fresh & self._points.keys()
        self._points.update(dict.fromkeys(fresh - shared, (key,)))
        for address in shared:
            held = self._points[address]
            if key not in held:
                self._points[address] = tuple(sorted((*held, key)))

    def _close_segment(
        self, point: int, active: dict[int, int], label_ids: dict[tuple[int, ...], int]
    ) -> None:
        """Start a segment at `point` labelled with the keys open there (unless the label is unchanged)."""
        label = tuple(sorted(active))
        label_id = label_ids.get(label)
        if label_id is None:
            label_id = label_ids[label] = len(self._labels)
            self._labels.append(label)
        if not self._label_ids or self._label_ids[-1] != label_id:
            self._bounds.append(point)
            self._label_ids.append(label_id)

    def keys_at(self, address: int) -> tuple[int, ...]:
        position = bisect_right(self._bounds, address) - 1
        keys = self._labels[self._label_ids[position]] if position >= 0 else ()
        point_keys = self._points.get(address)
        if point_keys is None:
            return keys
        return tuple(sorted({*keys, *point_keys})) if keys else point_keys

    def __len__(self) -> int:
        """Segments plus single addresses: a measure of size, for benchmarks."""
        return len(self._bounds) + len(self._points)


class BlockSet:
    """One list's blocks of one address family (single addresses stay in the RangeIndex alone):
    says which block holds an address, for a hit's `matched`."""

    __slots__ = ("_firsts", "_lasts", "bits")

    def __init__(self, bits: int, blocks: Iterable[tuple[int, int]]) -> None:
        self.bits = bits
        self._firsts: list[int] = []
        self._lasts: list[int] = []
        # CIDR blocks either nest or are disjoint: sorted widest-first, a block starting inside the
        # previous one is inside it and adds nothing; the wider block is the one reported.
        for first, last in sorted(blocks, key=lambda block: (block[0], -block[1])):
            if self._lasts and first <= self._lasts[-1]:
                continue
            self._firsts.append(first)
            self._lasts.append(last)

    def find(self, address: int) -> str | None:
        """The block holding `address`, written as CIDR, or None."""
        position = bisect_right(self._firsts, address) - 1
        if position >= 0 and address <= self._lasts[position]:
            return format_network(self.bits, self._firsts[position], self._lasts[position])
        return None

    def blocks(self) -> Iterable[tuple[int, int]]:
        """The blocks, with the ones nested in a wider block dropped."""
        return zip(self._firsts, self._lasts, strict=True)

    def __len__(self) -> int:
        return len(self._firsts)
