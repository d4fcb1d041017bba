"""The console's static files (`src/iocfeed/ui/`) and the headers every console response carries.

The files are read once per process. Their URLs carry a digest of all of them
(`/ui/assets/<version>/app.js`), so browsers may cache them for a year and still never run a stale
mix after an upgrade: a new release is a new version in the URL, and the ES modules' relative
imports resolve under the same version. The page itself is revalidated on every load.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from importlib import resources

ASSETS_PREFIX = "/ui/assets"
VERSION_PLACEHOLDER = "{{ASSETS}}"  # in index.html, replaced by /ui/assets/<version>

# Litestar adds "; charset=utf-8" to text/* types itself.
# Litestar adds "; charset=utf-8" to text/* types itself.
MEDIA_TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
}

# Only our own files, no inline script or style, no plugins, not framable, no base-URL games, and no
# form submission at all: forms are handled by script, so if the script ever failed to load a
# sign-in form could not leak the key into a URL.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
PRIVATE = "no-store"  # authenticated data (session, sparklines): never kept by a cache


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


@dataclass(frozen=True, slots=True)
class AssetBundle:
    version: str
    index: Asset
    files: dict[str, Asset]


def _asset(body: bytes, media_type: str) -> Asset:
    return Asset(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')


@functools.cache
def load_assets() -> AssetBundle:
    """Every file of the console, read from the installed package (wheel or editable)."""
    directory = resources.files("iocfeed") / "ui"
    raw: dict[str, bytes] = {}
    for entry in sorted(directory.iterdir(), key=lambda e: e.name):
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.is_file() and suffix in MEDIA_TYPES:
            raw[entry.name] = entry.read_bytes()
    digest = hashlib.sha256()
    for name, body in raw.items():
        digest.update(name.encode() + b"\0" + body + b"\0")
    version = digest.hexdigest()[:12]
    index_html = raw.pop("index.html").replace(
        VERSION_PLACEHOLDER.encode(), f"{ASSETS_PREFIX}/{version}".encode()
    )
    files = {name: _asset(body, MEDIA_TYPES["." + name.rpartition(".")[2]]) for name, body in raw.items()}
    return AssetBundle(version, _asset(index_html, MEDIA_TYPES[".html"]), files)


def headers_for(cache_control: str, etag: str | None = None) -> dict[str, str]:
    headers = {**SECURITY_HEADERS, "Cache-Control": cache_control}
    if etag is not None:
        headers["ETag"] = etag
    return headers
