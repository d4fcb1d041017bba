"""Canonical forms of network indicators: IPv4, IPv6, domains, URLs, e-mail addresses.

Each `canonicalize_*` takes a value that has already been refanged, returns its one canonical
spelling, and raises `InvalidIndicator` with a reason sentence when the value is not of that type.
Decisions (see DESIGN.md "Canonical forms"):

- IPv4: dotted quad, no leading zeros. Zero-padded octets (`010.001.002.003`) are read as decimal:
  feeds pad for alignment, nobody publishes octal. A `/32` suffix is the same single address.
- IPv6: `ipaddress`'s compressed lower-case form; brackets, a zone id (`%eth0`) and `/128` dropped.
  IPv4-mapped addresses stay IPv6 and are written as RFC 5952 section 5 says, `::ffff:1.2.3.4`
  (Python 3.13 prints them so too; 3.11 would print `::ffff:102:304`, so we format them ourselves).
- Domains: lower-case, IDNA ASCII, no trailing dot, labels of 1-63 characters, at most 253 in
  all, and a registrable name under an ICANN public suffix of the bundled list. `_` is allowed in
  labels (malware hostnames use it; `idna` rejects it), as are leading and trailing hyphens.
  Non-ASCII labels go through IDNA 2008 + UTS 46, falling back to IDNA 2003 for what 2008 refuses
  (emoji, symbols), so any name a resolver could be asked for gets one ASCII form.
- URLs: see `canonicalize_url`.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import quote

import idna
from publicsuffixlist import PublicSuffixList

from iocfeed.errors import InvalidIndicator

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# Already canonical: the fast path for the millions of plain IPv4 rows a feed holds.
IPV4_CANONICAL_RE = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
# Four dotted decimal groups, maybe zero-padded or out of range: the slow path decides.
IPV4_LOOSE_RE = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})")

# Lower-case ASCII host-name labels; `_` for malware hostnames, `-` anywhere as resolvers allow.
_LABEL_RE = re.compile(r"[a-z0-9_-]{1,63}")
# Full stops other than U+002E that IDNA treats as label separators.
_IDN_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
# Deepest ICANN rule in the list has 4 labels (`chtr.k12.ma.us`); 5 labels decide any suffix.
_SUFFIX_TAIL_LABELS = 5
# A whole host name of valid lower-case labels, none of them punycode: the common case, checked in
# one match instead of label by label (anything else takes the label-by-label path and its reasons).
_PLAIN_HOST_RE = re.compile(r"(?:[a-z0-9_-]{1,63}\.)+[a-z0-9_-]{1,63}")

_AUTHORITY_END_RE = re.compile(r"[/?]")
URL_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_DEFAULT_PORTS: dict[str, int] = {
    "http": 80,
    "https": 443,
    "ftp": 21,
    "ftps": 990,
    "sftp": 22,
    "ws": 80,
    "wss": 443,
}
# Printable ASCII except space: kept as is in paths and queries, so existing %XX stay untouched.
_URL_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))


def _show(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:77] + "...")


# --- IP addresses -------------------------------------------------------------------------------


def canonicalize_ipv4(raw: str) -> str:
    """`203.0.113.7` from `203.0.113.7`, ` 203.000.113.007 ` or `203.0.113.7/32`."""
    value = raw.strip()
    if IPV4_CANONICAL_RE.fullmatch(value):
        return value
    if value.endswith("/32"):
        value = value[:-3]
    match = IPV4_LOOSE_RE.fullmatch(value)
    if match is None:
        raise InvalidIndicator(_ipv4_reason(value))
    octets = [int(group) for group in match.groups()]
    if any(octet > 255 for octet in octets):
        raise InvalidIndicator(f"{_show(value)} is not an IPv4 address: an octet is above 255.")
    return ".".join(map(str, octets))


def _ipv4_reason(value: str) -> str:
    if IPV4_LOOSE_RE.fullmatch(value.partition("/")[0]):
        return f"{_show(value)} is a network range, not a single IPv4 address."
    if IPV4_LOOSE_RE.fullmatch(value.rpartition(":")[0]):
        return f"{_show(value)} has a port; an IPv4 indicator is the address alone."
    return f"{_show(value)} is not an IPv4 address (four dot-separated numbers 0-255)."


def canonicalize_ipv6(raw: str) -> str:
    """`2001:db8::1` from `[2001:DB8:0:0:0:0:0:1]`; `fe80::1` from `fe80::1%eth0`."""
    value = raw.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    value = value.partition("%")[0]  # the zone id names a local interface, not the address
    if value.endswith("/128"):
        value = value[:-4]
    elif "/" in value:
        raise InvalidIndicator(f"{_show(value)} is a network range, not a single IPv6 address.")
    if IPV4_LOOSE_RE.fullmatch(value):
        raise InvalidIndicator(f"{_show(value)} is an IPv4 address, not IPv6.")
    if not value.isascii():
        raise InvalidIndicator(f"{_show(value)} is not an IPv6 address: it has non-ASCII characters.")
    try:
        address = ipaddress.IPv6Address(value)
    except ValueError as exc:
        raise InvalidIndicator(f"{_show(value)} is not an IPv6 address: {exc}.") from None
    mapped = address.ipv4_mapped
    if mapped is not None:
        return f"::ffff:{mapped}"
    return address.compressed


# --- Domains ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    # The bundled copy (about 70 ms to parse, so only when first needed); never downloaded. ICANN
    # rules only: `duckdns.org` is a registrable name, though the private section lists it.
    return PublicSuffixList(only_icann=True, accept_unknown=False)


@lru_cache(maxsize=8192)
def _suffix_labels(tail: str) -> int:
    """How many trailing labels of `tail` form its public suffix; 0 when it has none."""
    suffix = _psl().publicsuffix(tail)
    return 0 if suffix is None else suffix.count(".") + 1


@lru_cache(maxsize=1)
def _rule_depths() -> dict[str, int]:
    """Per top-level label, the most labels any rule under it has (`*.ck` and `!www.ck`: 2; `com`:
    1). The suffix of a name with at least that many labels is decided by that many: rules only
    ever look at as many trailing labels as they have. So `_suffix_labels` is asked about
    `cdn-123.com`'s last label alone, and a feed of a million hosts under `.com` costs one lookup.
    Read from the list the parser holds; an empty map (the parser changed) means 5 for every name,
    as before."""
    rules = getattr(_psl(), "_publicsuffix", None)
    depths: dict[str, int] = {}
    if not isinstance(rules, frozenset | set):
        return depths
    for rule in rules:
        if not isinstance(rule, str):
            return {}
        labels = rule.lstrip("!").split(".")
        depths[labels[-1]] = max(depths.get(labels[-1], 0), len(labels))
    return depths


def _suffix_tail(labels: list[str]) -> str:
    """The trailing labels of a name that decide its public suffix (see _rule_depths)."""
    depths = _rule_depths()
    if not depths:
        return ".".join(labels[-_SUFFIX_TAIL_LABELS:])
    return ".".join(labels[-depths.get(labels[-1], 1) :])


def canonicalize_domain(raw: str) -> str:
    """`xn--bcher-kva.de` from `Bücher.DE.`; `c2_node.evil.com` stays as it is."""
    return _canonical_domain(raw.strip())


@lru_cache(maxsize=65536)  # feeds repeat hosts (one domain, many URLs); failures are not cached
def _canonical_domain(value: str) -> str:
    if not value.isascii():
        value = value.translate(_IDN_DOTS)
    if value.endswith("."):
        value = value[:-1]
    if not value:
        raise InvalidIndicator("An empty value is not a domain.")
    lowered = value.lower() if value.isascii() else ""
    if lowered and "xn--" not in lowered and _PLAIN_HOST_RE.fullmatch(lowered):
        labels, name = lowered.split("."), lowered  # what _ascii_label makes of each, at once
    else:
        labels = [_ascii_label(label, value) for label in value.split(".")]
        name = ".".join(labels)
    if len(labels) < 2:
        raise InvalidIndicator(f"{_show(name)} is a single label, not a domain with a public suffix.")
    if len(name) > 253:
        raise InvalidIndicator(f"{_show(name)} is longer than the 253 characters a domain may have.")
    if labels[-1].isdigit():
        if IPV4_LOOSE_RE.fullmatch(name):
            raise InvalidIndicator(f"{_show(name)} is an IP address, not a domain.")
        raise InvalidIndicator(f"{_show(name)} ends in a numeric label; no top-level domain is numeric.")
    suffix_labels = _suffix_labels(_suffix_tail(labels))
    if suffix_labels == 0:
        raise InvalidIndicator(f"{_show(name)} has no known public suffix ({labels[-1]!r} is not a TLD).")
    if suffix_labels >= len(labels):
        raise InvalidIndicator(f"{_show(name)} is itself a public suffix, not a registrable domain.")
    return name


def _ascii_label(label: str, whole: str) -> str:
    """One label as lower-case ASCII, or InvalidIndicator naming what is wrong with it."""
    if not label:
        raise InvalidIndicator(f"{_show(whole)} has an empty label (two dots in a row, or a leading dot).")
    if label.isascii():
        label = label.lower()
    else:
        try:
            label = idna.encode(label, uts46=True).decode("ascii")
        except idna.IDNAError:
            try:  # IDNA 2003 still maps symbols and emoji that IDNA 2008 refuses
                label = label.encode("idna").decode("ascii")
            except UnicodeError:
                raise InvalidIndicator(
                    f"{_show(whole)} has a label ({label!r}) that cannot be written in IDNA ASCII."
                ) from None
    if not _LABEL_RE.fullmatch(label):
        if len(label) > 63:
            raise InvalidIndicator(f"{_show(whole)} has a label longer than 63 characters.")
        raise InvalidIndicator(
            f"{_show(whole)} has a label ({label!r}) with characters not allowed in a host name."
        )
    if label.startswith("xn--"):
        try:
            label[4:].encode("ascii").decode("punycode")
        except UnicodeError:
            raise InvalidIndicator(
                f"{_show(whole)} has a label ({label!r}) that is not valid punycode."
            ) from None
    return label


# --- URLs ---------------------------------------------------------------------------------------


def canonicalize_url(raw: str) -> str:
    """A URL with lower-case scheme and canonical host, default port and fragment dropped.

    The path and query are kept byte for byte, except that spaces, control and non-ASCII
    characters are percent-encoded (UTF-8), as a browser would send them; an empty path becomes
    `/` (the same request). Userinfo is kept. A value without a scheme (`evil.com/a.php`, or
    `//evil.com/a.php`) is read as `http://`.
    """
    value = raw.strip()
    match = URL_SCHEME_RE.match(value)
    if match is not None:
        scheme, rest = match.group(1).lower(), value[match.end() :]
    elif value.startswith("//"):
        scheme, rest = "http", value[2:]
    else:
        scheme, rest = "http", value
    default_port = _DEFAULT_PORTS.get(scheme)
    if default_port is None:
        allowed = ", ".join(_DEFAULT_PORTS)
        raise InvalidIndicator(f"{_show(value)} has scheme {scheme!r}; URL indicators use {allowed}.")
    rest = rest.partition("#")[0]
    end = _AUTHORITY_END_RE.search(rest)
    authority, path_query = (rest[: end.start()], rest[end.start() :]) if end else (rest, "")
    userinfo, at, hostport = authority.rpartition("@")
    host, port = _split_host_port(hostport, value)
    try:
        host = _canonical_host(host)
    except InvalidIndicator as exc:
        raise InvalidIndicator(f"{_show(value)} has an invalid host: {exc.reason}") from None
    path, question, query = path_query.partition("?")
    parts = [scheme, "://"]
    if at and userinfo:
        parts += [_quote(userinfo, value), "@"]
    parts.append(host)
    if port is not None and port != default_port:
        parts.append(f":{port}")
    parts.append(_quote(path, value) or "/")
    if question:
        parts += ["?", _quote(query, value)]
    return "".join(parts)


def _split_host_port(hostport: str, whole: str) -> tuple[str, int | None]:
    if hostport.startswith("["):
        host, bracket, after = hostport.partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise InvalidIndicator(f"{_show(whole)} has a malformed bracketed IPv6 host.")
        host, port_text = host + "]", after[1:]
    elif hostport.count(":") > 1:
        raise InvalidIndicator(f"{_show(whole)} has an IPv6 host without the brackets a URL needs.")
    else:
        host, _, port_text = hostport.partition(":")
    if not host:
        raise InvalidIndicator(f"{_show(whole)} has no host.")
    if not port_text:
        return host, None
    if not (port_text.isascii() and port_text.isdigit()) or int(port_text) > 65535:
        raise InvalidIndicator(f"{_show(whole)} has an invalid port {port_text!r}.")
    return host, int(port_text)


def _canonical_host(host: str) -> str:
    if host.startswith("["):
        return f"[{canonicalize_ipv6(host)}]"
    if IPV4_LOOSE_RE.fullmatch(host):
        return canonicalize_ipv4(host)
    return _canonical_domain(host)


def _quote(text: str, whole: str) -> str:
    if text.isascii() and text.isprintable() and " " not in text:
        return text
    try:
        return quote(text, safe=_URL_SAFE, encoding="utf-8", errors="strict")
    except UnicodeEncodeError:
        raise InvalidIndicator(f"{_show(whole)} has characters that cannot be encoded as UTF-8.") from None


# --- E-mail addresses ---------------------------------------------------------------------------


def canonicalize_email(raw: str) -> str:
    """`Billing.Dept@evil.com` from ` mailto:Billing.Dept@EVIL.com `: local part as is, domain canonical."""
    value = raw.strip()
    if value[:7].lower() == "mailto:":
        value = value[7:]
    local, at, domain = value.rpartition("@")
    if not at:
        raise InvalidIndicator(f"{_show(value)} is not an e-mail address: it has no '@'.")
    if not local:
        raise InvalidIndicator(f"{_show(value)} has an empty local part.")
    if len(local) > 64:
        raise InvalidIndicator(f"{_show(value)} has a local part longer than 64 characters.")
    quoted = len(local) >= 2 and local[0] == local[-1] == '"'
    if not quoted and any(char.isspace() or not char.isprintable() or char in '<>"' for char in local):
        raise InvalidIndicator(
            f"{_show(value)} has a local part with spaces or characters not allowed unquoted."
        )
    try:
        return f"{local}@{_canonical_domain(domain)}"
    except InvalidIndicator as exc:
        raise InvalidIndicator(f"{_show(value)} has an invalid domain: {exc.reason}") from None
