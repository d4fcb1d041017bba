"""Feed URLs as they may appear in logs and errors, and who may see a source's credentials.

Feed URLs often carry a key (`?apikey=...`, `https://user:pass@host/`); the raw URL must never reach a
log line, an exception message or an API response. Every message about a fetch names
`sanitize_url(url)` instead.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

REDACTED = "REDACTED"

# Over-redacting a harmless parameter ("monkey=1") costs nothing; missing a key leaks it.
_SECRET_NAME = re.compile(r"key|token|secret|auth|pass|pwd|sig|credential|session|cookie|bearer", re.I)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def sanitize_url(url: str) -> str:
    """`url` without userinfo or fragment, with the value of every secret-looking query parameter
    replaced by REDACTED; other parameters are kept verbatim so the log still says what was asked."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparseable url>"
    if ":" in host:  # IPv6 literals need their brackets back
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    query = "&".join(_redact_parameter(pair) for pair in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, query, ""))


def _redact_parameter(pair: str) -> str:
    name, equals, _value = pair.partition("=")
    if _SECRET_NAME.search(unquote(name)):
        return f"{name}={REDACTED}"
    return pair if equals else name


def same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    """Scheme, host and port all equal: an https -> http downgrade is another origin too."""

    def origin(url: httpx.URL) -> tuple[str, str, int | None]:
        return url.scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(url.scheme)

    return origin(a) == origin(b)
