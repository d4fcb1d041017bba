"""Opaque, signed keyset cursors.

A cursor holds the position after the last row served (its sort value and pk), the sort it belongs
to, and a digest of the filters it was made for. It is signed with the server secret: a client can
neither forge a position nor reuse a cursor with other filters (both are a 400, not a silent
change of result).
"""

from __future__ import annotations

import hashlib

import msgspec

from iocfeed.errors import InvalidParameter
from iocfeed.keyring import Keyring


class CursorPayload(msgspec.Struct, array_like=True, frozen=True):
    version: int
    sort: str
    sort_value: int
    pk: int
    filters: str  # digest of the filters the cursor was made for


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(CursorPayload).decode
CURSOR_VERSION = 1


def filters_digest(parts: tuple[object, ...]) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def make_cursor(keyring: Keyring, sort: str, sort_value: int, pk: int, digest: str) -> str:
    return keyring.sign(_encode(CursorPayload(CURSOR_VERSION, sort, sort_value, pk, digest)))


def read_cursor(keyring: Keyring, token: str, sort: str, digest: str) -> tuple[int, int]:
    """The (sort value, pk) position in a cursor made for this sort and these filters."""
    payload_bytes = keyring.verify(token.strip())
    if payload_bytes is None:
        raise InvalidParameter("cursor", "The cursor is not valid; use meta.next_cursor exactly as returned.")
    try:
        payload = _decode(payload_bytes)
    except msgspec.DecodeError:
        raise InvalidParameter(
            "cursor", "The cursor is not valid; use meta.next_cursor exactly as returned."
        ) from None
    if payload.version != CURSOR_VERSION:
        raise InvalidParameter(
            "cursor", "The cursor is from an older version of the API; start paging again."
        )
    if payload.sort != sort or payload.filters != digest:
        raise InvalidParameter(
            "cursor",
            "The cursor was made for other filters or another sort; keep the query the same while paging.",
        )
    return payload.sort_value, payload.pk
