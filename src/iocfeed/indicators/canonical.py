"""The one way into canonical forms: refang, recognize the type, canonicalize.

Everything that turns outside text into an indicator (feed readers, the extractor, the API's
search and lookup) goes through here, so a value has one spelling wherever it came from.

This runs for every row of million-row feeds, so the common cases (a plain IPv4 address, a hex
digest) are answered by one precompiled regex before refanging or any library is touched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.hashes import (
    HASH_LENGTHS,
    HASH_TYPE_BY_LENGTH,
    HEX_RE,
    canonicalize_md5,
    canonicalize_sha1,
    canonicalize_sha256,
    canonicalize_sha512,
)
from iocfeed.indicators.network import (
    IPV4_CANONICAL_RE,
    IPV4_LOOSE_RE,
    URL_SCHEME_RE,
    canonicalize_domain,
    canonicalize_email,
    canonicalize_ipv4,
    canonicalize_ipv6,
    canonicalize_url,
)
from iocfeed.indicators.refang import refang
from iocfeed.indicators.types import IndicatorType
from iocfeed.indicators.vulns import ATTACK_RE, CVE_RE, canonicalize_attack, canonicalize_cve


class Canonical(NamedTuple):
    """An indicator in canonical form. A NamedTuple: cheap to build a million times, and hashable."""

    type: IndicatorType
    value: str


def _canonical_url(value: str) -> str:
    """canonicalize_url, made idempotent under refang: dropping a fragment can expose trailing
    punctuation (`/x.#top`), which refanging the result would strip; strip it now instead.

    `value` has been refanged (every caller here refangs first), and refang's result is a fixed
    point of refang: so when canonicalizing changed nothing, refanging the result would not either.
    """
    result = canonicalize_url(value)
    if result == value:
        return result
    again = refang(result)
    return result if again == result else canonicalize_url(again)


_CANONICALIZERS: dict[IndicatorType, Callable[[str], str]] = {
    IndicatorType.IPV4: canonicalize_ipv4,
    IndicatorType.IPV6: canonicalize_ipv6,
    IndicatorType.DOMAIN: canonicalize_domain,
    IndicatorType.URL: _canonical_url,
    IndicatorType.MD5: canonicalize_md5,
    IndicatorType.SHA1: canonicalize_sha1,
    IndicatorType.SHA256: canonicalize_sha256,
    IndicatorType.SHA512: canonicalize_sha512,
    IndicatorType.CVE: canonicalize_cve,
    IndicatorType.MITRE_ATTACK: canonicalize_attack,
    IndicatorType.EMAIL: canonicalize_email,
}

_IP_TYPES = (IndicatorType.IPV4, IndicatorType.IPV6)
# Hex digits, colons and dots, maybe bracketed, with a zone id or prefix length: worth asking
# ipaddress about (and its reason is the useful one if it says no).
_IPV6_LIKE_RE = re.compile(r"\[?[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[^\]/]+)?\]?(?:/[0-9]+)?")
_IPV4_RANGE_RE = re.compile(r"[0-9.]+/[0-9]{1,2}")
_HOST_PORT_RE = re.compile(r"[^/:@\s]+:[0-9]+")
_SPACE_RE = re.compile(r"\s")


def canonicalize(type_: IndicatorType, raw: str) -> str:
    """The canonical form of `raw` as a `type_` indicator, after refanging; else InvalidIndicator."""
    value = raw.strip()
    # Fast paths: already-clean values need neither refanging nor the per-type function.
    if type_ == IndicatorType.IPV4 and IPV4_CANONICAL_RE.fullmatch(value):
        return value
    if len(value) == HASH_LENGTHS.get(type_) and HEX_RE.fullmatch(value):
        return value.lower()
    return _CANONICALIZERS[type_](refang(value))


def detect_type(raw: str) -> IndicatorType:
    """The type a bare value is (after refanging); InvalidIndicator when it is none of them."""
    return _detect(refang(raw.strip())).type


def canonicalize_any(raw: str, hint: IndicatorType | None = None) -> Canonical:
    """Type and canonical form of `raw`; with `hint`, the value must be of that type.

    The one latitude: with an IP hint, an address of the other family is accepted and typed as
    what it is, because feeds label both families "ip". A hash of the wrong length for its hint
    is rejected, not retyped: it means the column is not what the feed says.
    """
    value = raw.strip()
    if IPV4_CANONICAL_RE.fullmatch(value) and (hint is None or hint in _IP_TYPES):
        return Canonical(IndicatorType.IPV4, value)
    if HEX_RE.fullmatch(value):
        kind = HASH_TYPE_BY_LENGTH.get(len(value))
        if kind is not None and (hint is None or hint == kind):
            return Canonical(kind, value.lower())
    value = refang(value)
    if hint is None:
        return _detect(value)
    if hint in _IP_TYPES:
        return _canonical_ip(value, hint)
    return Canonical(hint, _CANONICALIZERS[hint](value))


def _canonical_ip(value: str, hint: IndicatorType) -> Canonical:
    """An address of either family; if neither, the reason given is the hinted family's."""
    first, second = (
        (canonicalize_ipv4, canonicalize_ipv6)
        if hint == IndicatorType.IPV4
        else (canonicalize_ipv6, canonicalize_ipv4)
    )
    try:
        result = first(value)
    except InvalidIndicator as exc:
        try:
            result = second(value)
        except InvalidIndicator:
            raise exc from None
        return Canonical(IndicatorType.IPV6 if hint == IndicatorType.IPV4 else IndicatorType.IPV4, result)
    return Canonical(hint, result)


def _detect(value: str) -> Canonical:
    """Recognize and canonicalize a refanged value. The order settles the ambiguous cases; the
    cheap character tests in front of each regex keep the usual domain or URL row quick."""
    if not value:
        raise InvalidIndicator("An empty value is not an indicator.")
    first = value[0]
    if first.isdigit() and IPV4_CANONICAL_RE.fullmatch(value):
        return Canonical(IndicatorType.IPV4, value)
    if len(value) in HASH_TYPE_BY_LENGTH and HEX_RE.fullmatch(value):
        return Canonical(HASH_TYPE_BY_LENGTH[len(value)], value.lower())
    if ("://" in value and URL_SCHEME_RE.match(value)) or value.startswith("//"):
        return Canonical(IndicatorType.URL, _canonical_url(value))
    # Zero-padded addresses, `/32`, and ranges (rejected with their own reason, not read as URLs).
    if first.isdigit() and (IPV4_LOOSE_RE.fullmatch(value) or _IPV4_RANGE_RE.fullmatch(value)):
        return Canonical(IndicatorType.IPV4, canonicalize_ipv4(value))
    if first in "cC" and CVE_RE.fullmatch(value):
        return Canonical(IndicatorType.CVE, canonicalize_cve(value))
    if first in "tT" and ATTACK_RE.fullmatch(value):
        return Canonical(IndicatorType.MITRE_ATTACK, canonicalize_attack(value))
    has_colon = ":" in value
    if has_colon and value.count(":") >= 2 and _IPV6_LIKE_RE.fullmatch(value):
        return Canonical(IndicatorType.IPV6, canonicalize_ipv6(value))
    if "@" in value and "/" not in value:
        return Canonical(IndicatorType.EMAIL, canonicalize_email(value))
    if "/" in value or "?" in value:  # a host and a path: a URL without its scheme
        return Canonical(IndicatorType.URL, _canonical_url(value))
    if has_colon and _HOST_PORT_RE.fullmatch(value):
        raise InvalidIndicator(
            f"{value[:80]!r} is a host and a port; give the host alone, or a URL with a scheme."
        )
    if "." not in value or _SPACE_RE.search(value):
        raise InvalidIndicator(f"{value[:80]!r} is not an indicator of any type iocfeed knows.")
    return Canonical(IndicatorType.DOMAIN, canonicalize_domain(value))
