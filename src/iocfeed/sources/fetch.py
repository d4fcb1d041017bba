"""Fetching one feed over HTTP: a conditional GET, streamed to a file, with retries, caps and unpacking.

The only module that talks HTTP. It knows nothing of the database or the pipeline: the caller passes
the last `FetchState` in, persists `FetchResult.new_state` once it has accepted the content, and
deletes `FetchResult.path` when done with it. An unchanged feed (a 304, or a body whose digest equals
the last one) comes back without a file, so the caller can make the run a no-op.

Transfer decoding (Content-Encoding: gzip) is done here rather than by httpx, because httpx accepts
a truncated gzip stream silently, and a feed cut short must fail, not shrink.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Literal

import httpx

from iocfeed import __version__
from iocfeed.errors import FetchError
from iocfeed.sources.decompress import BodyWriter, GzipStream
from iocfeed.sources.urls import same_origin, sanitize_url

MiB = 1024 * 1024
FetchStatus = Literal["not_modified", "unchanged", "fetched"]


@dataclass(frozen=True, slots=True)
class FetchState:
    """What the store keeps per source between fetches: HTTP validators and the body's digest."""

    etag: str | None = None
    last_modified: str | None = None
    content_digest: str | None = None  # sha256 hex of the decoded (unpacked) body


@dataclass(frozen=True)
class FetchPolicy:
    """How hard to try and how much to accept. `sleep` is injectable so tests need not wait."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0  # the longest silence between two reads, not a total deadline
    retries: int = 3  # after the first attempt: 4 attempts at most
    backoff_base: float = 1.0  # seconds before the first retry (jittered down to half of it)
    backoff_cap: float = 30.0  # no single wait is longer, Retry-After included
    max_bytes: int = 512 * MiB  # the decoded body a reader will see
    max_compressed_bytes: int = 128 * MiB  # a gzip/zip body or gzip transfer, as downloaded
    max_redirects: int = 5
    user_agent: str = f"iocfeed/{__version__}"
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def backoff(self, retry: int) -> float:
        """Exponential, with jitter so that sources failing together do not retry in step."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (retry - 1))
        return random.uniform(ceiling / 2, ceiling)


DEFAULT_POLICY = FetchPolicy()


@dataclass(frozen=True, slots=True)
class FetchResult:
    """not_modified: a 304, no body sent. unchanged: a body whose digest equals the last one (its file
    already deleted). fetched: new content in `path`. Persist `new_state` in all three cases, but only
    once the content was accepted (`check_content`, a reader), or a bad body will look unchanged."""

    status: FetchStatus
    path: Path | None  # the decoded body, only when status is "fetched"; the caller deletes it
    new_state: FetchState
    content_type: str | None  # media type only, lower-case: "text/csv"
    encoding: str | None  # the charset Content-Type declared, if any
    bytes_read: int  # bytes received over the network (0 for a 304)
    url: str  # the final URL after redirects, sanitized: safe to log
    size: int = 0  # bytes in `path`
    # Response headers a reader needs (TAXII's X-TAXII-Date-Added-Last), lower-case names.
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Failure:
    """One attempt that got no usable response; `fetch` decides whether to try again."""

    reason: str  # "HTTP 503" or an exception class name: never str(exc), which may quote the URL
    retryable: bool
    retry_after: float | None = None
    upstream_status: int | None = None


RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))
_RETRY_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def fetch(
    url: str,
    state: FetchState | None,
    policy: FetchPolicy = DEFAULT_POLICY,
    *,
    dest_dir: Path,
    headers: Mapping[str, str] | None = None,
    client: httpx.Client | None = None,
    zip_member: str | None = None,
) -> FetchResult:
    """GET `url` (conditionally, from `state`) into a new file in `dest_dir`; see the module doc.

    `headers` (an auth header, say) go to the URL's origin only: they are dropped if a redirect leads
    elsewhere. Raises FetchError, with the URL sanitized, when retries run out or the body is unusable.
    """
    safe_url = sanitize_url(url)
    own_client = client is None
    if client is None:
        client = httpx.Client()
    try:
        attempt = 0
        while True:
            attempt += 1
            try:
                outcome = _attempt(
                    client, url, state or FetchState(), policy, headers or {}, dest_dir, zip_member
                )
            except FetchError as exc:  # the body was unusable: trying again would fetch the same bytes
                exc.attempts = exc.details["attempts"] = attempt
                raise
            if isinstance(outcome, FetchResult):
                return outcome
            if not outcome.retryable or attempt > policy.retries:
                raise FetchError(
                    f"fetching {safe_url} failed after {attempt} attempt{'s' if attempt > 1 else ''}: "
                    f"{outcome.reason}",
                    url=safe_url,
                    attempts=attempt,
                    upstream_status=outcome.upstream_status,
                )
            wait = policy.backoff(attempt)
            if outcome.retry_after is not None:
                wait = min(policy.backoff_cap, outcome.retry_after)
            policy.sleep(wait)
    finally:
        if own_client:
            client.close()


def _attempt(
    client: httpx.Client,
    url: str,
    state: FetchState,
    policy: FetchPolicy,
    headers: Mapping[str, str],
    dest_dir: Path,
    zip_member: str | None,
) -> FetchResult | _Failure:
    timeout = httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout)
    request_headers = {"User-Agent": policy.user_agent, "Accept-Encoding": "gzip", **headers}
    if state.etag:
        request_headers["If-None-Match"] = state.etag
    if state.last_modified:
        request_headers["If-Modified-Since"] = state.last_modified
    try:
        current = httpx.URL(url)
        for _hop in range(policy.max_redirects + 1):
            request = client.build_request("GET", current, headers=request_headers, timeout=timeout)
            response = client.send(request, stream=True, follow_redirects=False)
            try:
                location = response.headers.get("Location")
                if response.is_redirect and location:
                    target = current.join(location)
                    if not same_origin(current, target):
                        # An auth header is meant for the source; never hand it to another host.
                        request_headers = {k: v for k, v in request_headers.items() if k not in headers}
                    current = target
                    continue
                return _handle(response, state, policy, dest_dir, zip_member)
            finally:
                response.close()
    except _RETRY_ERRORS as exc:
        return _Failure(type(exc).__name__, retryable=True)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:  # a bad scheme or a malformed URL
        return _Failure(type(exc).__name__, retryable=False)
    return _Failure(f"more than {policy.max_redirects} redirects", retryable=False)


def _handle(
    response: httpx.Response,
    state: FetchState,
    policy: FetchPolicy,
    dest_dir: Path,
    zip_member: str | None,
) -> FetchResult | _Failure:
    safe_url = sanitize_url(str(response.url))
    new_state = replace(
        state,
        etag=response.headers.get("ETag") or state.etag,
        last_modified=response.headers.get("Last-Modified") or state.last_modified,
    )
    content_type, charset = parse_content_type(response.headers.get("Content-Type"))
    if response.status_code == 304:  # the body was never sent: nothing to read or store
        return FetchResult(
            status="not_modified",
            path=None,
            new_state=new_state,
            content_type=content_type,
            encoding=charset,
            bytes_read=0,
            url=safe_url,
        )
    if not response.is_success:
        return _Failure(
            f"HTTP {response.status_code}",
            retryable=response.status_code in RETRY_STATUSES,
            retry_after=_retry_after_seconds(response.headers.get("Retry-After")),
            upstream_status=response.status_code,
        )

    transfer = response.headers.get("Content-Encoding", "identity").strip().lower()
    if transfer not in {"identity", "gzip", "x-gzip"}:
        raise FetchError(
            f"fetching {safe_url} failed: unsupported Content-Encoding {transfer!r}", url=safe_url
        )
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max(policy.max_bytes, policy.max_compressed_bytes):
        raise FetchError(
            f"fetching {safe_url}: the body ({declared} bytes) is larger than the cap", url=safe_url
        )

    gunzip = GzipStream(safe_url) if transfer != "identity" else None
    writer = BodyWriter(
        dest_dir,
        label=safe_url,
        max_bytes=policy.max_bytes,
        max_compressed_bytes=policy.max_compressed_bytes,
        zip_member=zip_member,
    )
    received = 0
    try:
        for chunk in response.iter_raw():
            received += len(chunk)
            if gunzip is None:
                writer.write(chunk)
                continue
            if received > policy.max_compressed_bytes:
                raise FetchError(
                    f"fetching {safe_url}: the gzip transfer is larger than the cap of "
                    f"{policy.max_compressed_bytes} bytes",
                    url=safe_url,
                )
            for piece in gunzip.feed(chunk):
                writer.write(piece)
        if gunzip is not None:
            gunzip.finish()
    except BaseException:
        writer.discard()
        raise
    body = writer.close()

    new_state = replace(new_state, content_digest=body.digest)
    unchanged = state.content_digest == body.digest
    if unchanged:  # the server ignored our validators, but the feed is the same: a no-op as well
        body.path.unlink(missing_ok=True)
    return FetchResult(
        status="unchanged" if unchanged else "fetched",
        path=None if unchanged else body.path,
        new_state=new_state,
        content_type=content_type,
        encoding=charset,
        bytes_read=received,
        url=safe_url,
        size=body.size,
        headers={
            name.lower(): value
            for name, value in response.headers.items()
            if name.lower().startswith("x-taxii")
        },
    )


def parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """("text/csv", "iso-8859-1") from "text/csv; charset=ISO-8859-1"; both lower-case."""
    if not value:
        return None, None
    media_type, *params = (part.strip() for part in value.split(";"))
    charset = None
    for param in params:
        name, _, raw = param.partition("=")
        if name.strip().lower() == "charset" and raw.strip().strip('"'):
            charset = raw.strip().strip('"').lower()
    return media_type.lower() or None, charset


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date; anything unreadable is ignored."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
