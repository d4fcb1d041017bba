"""The indicator types iocfeed knows, with the names the API uses."""

from __future__ import annotations

from enum import StrEnum


class IndicatorType(StrEnum):
    IPV4 = "ipv4"
    IPV6 = "ipv6"
    DOMAIN = "domain"
    URL = "url"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    SHA512 = "sha512"
    CVE = "cve"
    MITRE_ATTACK = "mitre-attack"
    EMAIL = "email"


ALL_TYPES: tuple[str, ...] = tuple(t.value for t in IndicatorType)

# Alternative spellings accepted wherever a client or a feed names a type.
TYPE_ALIASES: dict[str, IndicatorType] = {
    "mitre_attack": IndicatorType.MITRE_ATTACK,
    "attack": IndicatorType.MITRE_ATTACK,
    "ip": IndicatorType.IPV4,
    "ip-dst": IndicatorType.IPV4,
    "ip-src": IndicatorType.IPV4,
    "hostname": IndicatorType.DOMAIN,
    "fqdn": IndicatorType.DOMAIN,
    "sha-1": IndicatorType.SHA1,
    "sha-256": IndicatorType.SHA256,
    "sha-512": IndicatorType.SHA512,
    "email-addr": IndicatorType.EMAIL,
    "email-src": IndicatorType.EMAIL,
    "vulnerability": IndicatorType.CVE,
    # STIX 2.1 cyber-observable names and other spellings feeds use.
    "ipv4-addr": IndicatorType.IPV4,
    "ipv6-addr": IndicatorType.IPV6,
    "domain-name": IndicatorType.DOMAIN,
    "uri": IndicatorType.URL,
    "email-dst": IndicatorType.EMAIL,
    "cve-id": IndicatorType.CVE,
    "technique": IndicatorType.MITRE_ATTACK,
}


def parse_type(name: str) -> IndicatorType | None:
    """The IndicatorType a name stands for, or None. Case and surrounding space do not matter."""
    key = name.strip().lower()
    try:
        return IndicatorType(key)
    except ValueError:
        return TYPE_ALIASES.get(key)
