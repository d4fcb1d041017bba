"""Canonical forms of file hashes: lower-case hexadecimal of the algorithm's exact length.

A hash is only ever compared for equality, so the canonical form is just the lower-case digest.
The length is the algorithm: a 64-digit value given as md5 is rejected, never silently retyped,
because a feed that labels its column wrongly should be noticed, not papered over.
"""

from __future__ import annotations

import re

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.types import IndicatorType

# Hex digest length of each hash type, in characters.
HASH_LENGTHS: dict[IndicatorType, int] = {
    IndicatorType.MD5: 32,
    IndicatorType.SHA1: 40,
    IndicatorType.SHA256: 64,
    IndicatorType.SHA512: 128,
}

# Which hash type a hex string of a given length is; used by auto-detection.
HASH_TYPE_BY_LENGTH: dict[int, IndicatorType] = {length: kind for kind, length in HASH_LENGTHS.items()}

# ASCII hex only: `str.isdigit`-style checks would let other scripts' digits through.
HEX_RE = re.compile(r"[0-9A-Fa-f]+")


def canonicalize_hash(type_: IndicatorType, raw: str) -> str:
    """The lower-case digest of `raw` as a `type_` hash, or InvalidIndicator saying why not."""
    expected = HASH_LENGTHS.get(type_)
    if expected is None:
        raise InvalidIndicator(f"{type_.value!r} is not a hash type.")
    value = raw.strip()
    if not HEX_RE.fullmatch(value):
        shown = value if len(value) <= 80 else value[:77] + "..."
        if not value:
            raise InvalidIndicator(f"An empty value is not an {type_.value} hash.")
        raise InvalidIndicator(f"{shown!r} is not an {type_.value} hash: it has non-hexadecimal characters.")
    if len(value) != expected:
        other = HASH_TYPE_BY_LENGTH.get(len(value))
        hint = f" (that is the length of a {other.value})" if other is not None else ""
        raise InvalidIndicator(
            f"An {type_.value} hash has {expected} hex digits; this value has {len(value)}{hint}."
        )
    return value.lower()


def canonicalize_md5(raw: str) -> str:
    return canonicalize_hash(IndicatorType.MD5, raw)


def canonicalize_sha1(raw: str) -> str:
    return canonicalize_hash(IndicatorType.SHA1, raw)


def canonicalize_sha256(raw: str) -> str:
    return canonicalize_hash(IndicatorType.SHA256, raw)


def canonicalize_sha512(raw: str) -> str:
    return canonicalize_hash(IndicatorType.SHA512, raw)
