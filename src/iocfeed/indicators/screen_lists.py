"""Which warning lists screen which indicator types, and how: the policy, as data (`CATALOG`).

Most lists are MISP warning lists bundled in `pymispwarninglists` (id `misp:<directory>`); the
`iocfeed:` lists fill the gaps they leave, from the RFCs. Order is priority: the first list holding a
value is the one a screened indicator is stored with, so specific lists come before broad ones.

    list id                          match   types         hosts  why a hit is not an IOC
    -------------------------------  ------  ------------  -----  ---------------------------------------
    misp:rfc1918                     cidr    ipv4          any    private networks: never routed
    misp:rfc6598                     cidr    ipv4          any    carrier-grade NAT space: never routed
    misp:multicast                   cidr    ipv4          any    multicast groups are not hosts
    misp:rfc5735                     cidr    ipv4          any    loopback, link-local, documentation,
                                                                  benchmarking, reserved: never routed
    misp:rfc3849                     cidr    ipv6          any    the documentation prefix 2001:db8::/32
    misp:ipv6-linklocal              cidr    ipv6          any    link-local fe80::/10
    iocfeed:ipv6-special-use         cidr    ipv6          any    ULA, loopback, multicast, 3fff::/20,
                                                                  ... (RFC 6890 / IANA registry)
    iocfeed:ipv6-non-global          cidr    ipv6          any    outside 2000::/3: never routed
    misp:public-dns-v4, -v6          cidr    ipv4 / ipv6   root   resolvers: blocking breaks DNS
    misp:cloudflare, fastly, akamai  cidr    ipv4, ipv6    root   CDN edges shared by thousands of sites
    misp:zscaler                     cidr    ipv4, ipv6    root   proxy egress shared by many companies
    misp:microsoft-office365-ip      cidr    ipv4, ipv6    root   Office 365 front ends shared by tenants
    misp:google-gmail-sending-ips    cidr    ipv4, ipv6    root   everyone's Gmail
    misp:rfc6761                     suffix  domain        any    example.com/.net/.org, private PTR zones
    iocfeed:arpa                     suffix  domain        any    .arpa infrastructure (home.arpa, PTR)
    misp:tranco10k                   ranked  domain        root   the 10,000 most-used sites
    misp:cisco_top10k                exact   domain        root   the 10,000 most-queried host names
    misp:empty-hashes                exact   md5 .. sha512  -     the empty file
    misp:eicar.com                   exact   md5 .. sha512  -     the anti-virus test file
    misp:common-ioc-false-positive,  exact   md5 .. sha512  -     benign files often published as IOCs
      ti-falsepositives                                           (69 + 24,645)
    misp:nioc-filehash               exact   md5 .. sha512  -     known benign files (197,415)
    misp:mozilla-CA, -IntermediateCA exact   md5 .. sha512  -     trusted CA certificate fingerprints

Match: *cidr*, the address is in a block; *exact*, the value itself; *suffix*, the name or any name
under an entry; *ranked*, the name or a name under an entry, unless a name in between hands out
subdomains to others (a Public Suffix List entry such as `github.io` or `s3.amazonaws.com`, a
dynamic-DNS domain from `misp:dynamic-dns`, one of `USER_SUBDOMAIN_PLATFORMS`): `mail.google.com` is
Google's, `victim.sharepoint.com` is a tenant's and may be phishing.

Hosts: *any* lists also screen the host of every URL and the domain of every e-mail address
(`http://10.0.0.1/x` is a lab artifact, `bob@example.com` an example). *root* lists screen a URL's
host only when the URL is the site's root (path `/`, no query): blocking `https://www.google.com/`
blocks Google, but `https://docs.google.com/forms/d/...` can be real phishing on a top site. E-mail
is not screened by rank: `gmail.com` and `outlook.com` are top-ranked and are exactly where
attackers open accounts.

A caveat: `public-dns-v4` is a 2024 snapshot of 62,745 open resolvers (public-dns.info), well-known
services and also home routers and servers that answer DNS; some of those are compromised. Screening
marks them (stored, visible, out of the default feed) rather than publish 8.8.8.8 by mistake.

Deliberately not used: cloud ranges (AWS, Azure, GCP, OVH): a VPS address is one tenant's and often
truly malicious. `stackpath` (its CDN closed in 2024; the ranges are stale). Scanner, VPN, sinkhole
and parking lists: true facts about an address, not evidence that it is harmless. Alexa and
Majestic (stale; Tranco aggregates them), the 1M-entry Tranco and CrUX lists (a top-1M list holds
malicious names, and costs seconds to load), `google` and `microsoft` (their suffix entries
include customer-controlled hosts such as `*.azurewebsites.net`), `public-dns-hostname` (reverse
names of home routers), `disposable-email` and `common-contact-emails` (suspicious, not benign).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum

from iocfeed.indicators.types import IndicatorType as T


class MatchKind(StrEnum):
    CIDR = "cidr"
    EXACT = "exact"
    SUFFIX = "suffix"
    RANKED = "ranked"


class HostUse(StrEnum):
    """Whether a list also screens a URL's host (and an e-mail address's domain)."""

    NONE = "none"
    SITE_ROOT = "site-root"  # the host of a URL that is the site's root: path `/`, no query
    ANY = "any"  # the host of any URL, and the domain of any e-mail address


@dataclass(frozen=True, slots=True)
class ListSpec:
    list_id: str
    match: MatchKind
    types: frozenset[T]
    hosts: HostUse
    why: str  # completes "...: <why>." in a hit's reason
    name: str = ""  # built-in lists only; MISP lists use the name in their JSON


_V4 = frozenset({T.IPV4})
_V6 = frozenset({T.IPV6})
_IP = frozenset({T.IPV4, T.IPV6})
_DOMAIN = frozenset({T.DOMAIN})
_HASHES = frozenset({T.MD5, T.SHA1, T.SHA256, T.SHA512})
_NOT_ROUTED = (
    "it is not routed on the Internet, so it is a lab or victim-side artifact, not attacker infrastructure"
)
_SHARED = "one address serves many unrelated sites or customers, and blocking it breaks all of them"
_KNOWN_GOOD = "it is a known benign file, and blocking it can break the endpoints that need it"
_RESOLVER = "a public resolver serves everyone, and blocking it breaks name resolution"
_DOCS = "these names are reserved for documentation and examples (RFC 2606, RFC 6761)"
_ARPA = "nobody registers names under .arpa, which holds reverse DNS and other infrastructure"
_NON_GLOBAL = "only 2000::/3 is allocated for global unicast, so nothing else is routed on the Internet"
_TOP_SITE = "it is one of the most-used sites, and blocking it breaks work for everyone"
_TOP_HOST = "it is one of the most-queried host names, and blocking it breaks common services"
_CA = "it is the fingerprint of a trusted CA certificate"
_CIDR, _EXACT, _SUFFIX, _RANKED = MatchKind.CIDR, MatchKind.EXACT, MatchKind.SUFFIX, MatchKind.RANKED
_ANY, _ROOT, _NONE = HostUse.ANY, HostUse.SITE_ROOT, HostUse.NONE

# fmt: off
CATALOG: tuple[ListSpec, ...] = (
    ListSpec("misp:rfc1918",                   _CIDR,   _V4,     _ANY,  _NOT_ROUTED),
    ListSpec("misp:rfc6598",                   _CIDR,   _V4,     _ANY,  _NOT_ROUTED),
    ListSpec("misp:multicast",                 _CIDR,   _V4,     _ANY,  "multicast addresses name groups, not hosts"),
    ListSpec("misp:rfc5735",                   _CIDR,   _V4,     _ANY,  _NOT_ROUTED),
    ListSpec("misp:rfc3849",                   _CIDR,   _V6,     _ANY,  "the documentation prefix appears only in examples"),
    ListSpec("misp:ipv6-linklocal",            _CIDR,   _V6,     _ANY,  _NOT_ROUTED),
    ListSpec("iocfeed:ipv6-special-use",       _CIDR,   _V6,     _ANY,  _NOT_ROUTED,
             name="IPv6 special-purpose address blocks (RFC 6890, IANA registry)"),
    ListSpec("iocfeed:ipv6-non-global",        _CIDR,   _V6,     _ANY,  _NON_GLOBAL,
             name="IPv6 space outside global unicast 2000::/3"),
    ListSpec("misp:public-dns-v4",             _CIDR,   _V4,     _ROOT, _RESOLVER),
    ListSpec("misp:public-dns-v6",             _CIDR,   _V6,     _ROOT, _RESOLVER),
    ListSpec("misp:cloudflare",                _CIDR,   _IP,     _ROOT, _SHARED),
    ListSpec("misp:fastly",                    _CIDR,   _IP,     _ROOT, _SHARED),
    ListSpec("misp:akamai",                    _CIDR,   _IP,     _ROOT, _SHARED),
    ListSpec("misp:zscaler",                   _CIDR,   _IP,     _ROOT, _SHARED),
    ListSpec("misp:microsoft-office365-ip",    _CIDR,   _IP,     _ROOT, _SHARED),
    ListSpec("misp:google-gmail-sending-ips",  _CIDR,   _IP,     _ROOT, _SHARED),
    ListSpec("misp:rfc6761",                   _SUFFIX, _DOMAIN, _ANY,  _DOCS),
    ListSpec("iocfeed:arpa",                   _SUFFIX, _DOMAIN, _ANY,  _ARPA, name="The .arpa infrastructure domain"),
    ListSpec("misp:tranco10k",                 _RANKED, _DOMAIN, _ROOT, _TOP_SITE),
    ListSpec("misp:cisco_top10k",              _EXACT,  _DOMAIN, _ROOT, _TOP_HOST),
    ListSpec("misp:empty-hashes",              _EXACT,  _HASHES, _NONE, "every empty file has this hash"),
    ListSpec("misp:eicar.com",                 _EXACT,  _HASHES, _NONE, "the EICAR anti-virus test file is harmless by design"),
    ListSpec("misp:common-ioc-false-positive", _EXACT,  _HASHES, _NONE, _KNOWN_GOOD),
    ListSpec("misp:ti-falsepositives",         _EXACT,  _HASHES, _NONE, _KNOWN_GOOD),
    ListSpec("misp:nioc-filehash",             _EXACT,  _HASHES, _NONE, _KNOWN_GOOD),
    ListSpec("misp:mozilla-CA",                _EXACT,  _HASHES, _NONE, _CA),
    ListSpec("misp:mozilla-IntermediateCA",    _EXACT,  _HASHES, _NONE, _CA),
)
# fmt: on

DEFAULT_LIST_IDS: tuple[str, ...] = tuple(spec.list_id for spec in CATALOG)
SPECS: dict[str, ListSpec] = {spec.list_id: spec for spec in CATALOG}

# What the built-in lists hold, with what each block is (shown in a hit's reason).
BUILTIN_ENTRIES: dict[str, dict[str, str]] = {
    "iocfeed:ipv6-special-use": {
        "::/128": "the unspecified address, RFC 4291",
        "::1/128": "loopback, RFC 4291",
        "64:ff9b:1::/48": "local-use NAT64, RFC 8215",
        "100::/64": "discard-only, RFC 6666",
        "2001:2::/48": "benchmarking, RFC 5180",
        "2001:10::/28": "ORCHID, RFC 4843",
        "2001:20::/28": "ORCHIDv2, RFC 7343",
        "3fff::/20": "documentation, RFC 9637",
        "5f00::/16": "SRv6 SIDs, RFC 9602",
        "fc00::/7": "unique local addresses, RFC 4193",
        "fec0::/10": "deprecated site-local, RFC 3879",
        "ff00::/8": "multicast, RFC 4291",
    },
    # The complement of 2000::/3 (RFC 4291 section 2.4), derived rather than typed in.
    "iocfeed:ipv6-non-global": {
        str(block): "not global unicast, RFC 4291"
        for block in ipaddress.ip_network("::/0").address_exclude(ipaddress.ip_network("2000::/3"))
    },
    "iocfeed:arpa": {"arpa": "RFC 3172; home.arpa is RFC 8375"},
}

# Lists read only to decide where a top-ranked domain's subdomains stop being its own.
DYNAMIC_DNS_LIST = "dynamic-dns"

# Top sites that give anyone a subdomain (a blog, a shop, a tenant, a bucket) and are not in the
# Public Suffix List's private section: under these, a subdomain is a customer's, not the site's.
USER_SUBDOMAIN_PLATFORMS: frozenset[str] = frozenset(
    {
        "amazonaws.com", "atlassian.net", "azure.com", "blogs.com", "box.com", "business.site",
        "canalblog.com", "canva.site", "company.site", "edublogs.org", "exblog.jp", "fc2.com",
        "force.com", "fortiddns.com", "freeservers.com", "freewebs.com", "godaddysites.com",
        "home.blog", "hs-sites.com", "itch.io", "jimdo.com", "jimdofree.com", "jimdosite.com",
        "livejournal.com", "medium.com", "myftpupload.com", "mynetname.net", "myportfolio.com",
        "myqcloud.com", "mystrikingly.com", "narod.ru", "neocities.org", "oraclecloud.com",
        "over-blog.com", "salesforce-sites.com", "sharepoint.com", "sharepoint.us", "site.com",
        "site123.me", "slack.com", "substack.com", "tilda.ws", "tumblr.com", "typeform.com",
        "ucoz.net", "ucoz.ru", "webex.com", "webnode.com", "webs.com", "weebly.com",
        "wordpress.com", "zendesk.com", "zoom.us",
    }
)  # fmt: skip
