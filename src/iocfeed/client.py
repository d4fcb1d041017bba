"""A consumer of the feed over HTTP: page a filtered feed, keep a delta-synced copy, persist its state.

    with FeedClient("https://feed.example", key, timeout=30) as client:
        state = SyncState.load("state.json")
        result = client.sync(state, type="ipv4")  # first run: everything; later: only changes
        state.save("state.json")

Only HTTP (nothing from the server's packages), so the module can be vendored on its own. The key
goes in a header, never into a URL, a log line or an error message.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

Record = dict[str, Any]
FilterValue = str | int | Sequence[str]
DEFAULT_PAGE_SIZE = 1_000  # the server lowers it to the tier's cap
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
CLIENT_MANAGED = frozenset({"cursor", "offset", "format"})  # paging and parsing belong to the client
SYNC_MANAGED = CLIENT_MANAGED | {"since", "status", "sort"}
# A band moves both ways as scores decay or sources are added, and an indicator that left a
# server-side confidence filter would never show up in that filtered delta again. So sync asks for
# every band and filters here; type never changes, and categories and industries only grow.
AT_LEAST = {"low": ("high", "medium", "low"), "medium": ("high", "medium"), "high": ("high",)}
STATE_VERSION = 1


@dataclass(eq=False)
class ClientError(Exception):
    """The server refused or could not be reached; carries the server's error code and request id."""

    message: str
    status: int | None = None  # None: no answer at all (network)
    code: str | None = None  # the API's error code, or http_<status> when the body has none
    request_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        head = f"{self.code} (HTTP {self.status})" if self.status else (self.code or "error")
        tail = f" [request_id {self.request_id}]" if self.request_id else ""
        return f"{head}: {self.message}{tail}"


class StateFileError(Exception):
    """The state file exists but is not one this client wrote."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5  # tries per request, the first included
    backoff_seconds: float = 0.5  # doubled per attempt, with jitter
    backoff_max_seconds: float = 30.0
    # Past this, waiting is not a retry but an outage (the per-day limit): fail instead.
    max_retry_after_seconds: float = 120.0


@dataclass(frozen=True, slots=True)
class BlocklistEntry:
    """What a blocklist keeps of an active indicator: enough to write txt, csv and json."""

    id: str
    type: str
    value: str
    confidence: str
    score: int
    first_seen: str
    last_seen: str
    updated_at: str
    source_feed: str
    source_article: str
    category: str
    tags: tuple[str, ...]

    @classmethod
    def from_record(cls, record: Record) -> BlocklistEntry:
        source = record.get("source") or {}
        return cls(
            record["id"], record["type"], record["value"], record["confidence"], int(record["score"]),
            record["first_seen"], record["last_seen"], record["updated_at"],
            source.get("feed_name") or "", source.get("article_title") or "", source.get("category") or "",
            tuple(record.get("tags") or ()),
        )  # fmt: skip


@dataclass(slots=True)
class SyncState:
    """Where the last sync ended (`sync_since`), with which filters, and optionally the blocklist.

    `blocklist` is None when the caller keeps its own copy (a SIEM); a dict of the active
    indicators by id when the state file is the copy (a firewall's cron job).
    """

    sync_since: str | None = None
    filters: dict[str, list[str]] | None = None
    blocklist: dict[str, BlocklistEntry] | None = None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SyncState:
        """The saved state, or a fresh one if the file does not exist yet."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if data.get("version") != STATE_VERSION:
                raise StateFileError(f"{path}: not an iocfeed sync state (version {data.get('version')!r})")
            entries = data.get("blocklist")
            blocklist = None
            if entries is not None:
                blocklist = {e["id"]: BlocklistEntry(**{**e, "tags": tuple(e["tags"])}) for e in entries}
            return cls(data.get("sync_since"), data.get("filters"), blocklist)
        except FileNotFoundError:
            return cls()
        except OSError as exc:
            raise StateFileError(f"{path}: cannot read the sync state: {exc.strerror}") from exc
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise StateFileError(f"{path}: not a readable iocfeed sync state ({type(exc).__name__})") from exc

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write atomically with mode 0600: a crash leaves the previous file whole, never half of one."""
        target = Path(path)
        entries = None if self.blocklist is None else [asdict(e) for _, e in sorted(self.blocklist.items())]
        payload = {
            "version": STATE_VERSION,
            "sync_since": self.sync_since,
            "filters": self.filters,
            "blocklist": entries,
        }
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, separators=(",", ":"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
            directory = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)


@dataclass(slots=True)
class SyncResult:
    upserted: list[Record] = field(default_factory=list)  # active and matching: add or replace by id
    removed: list[Record] = field(default_factory=list)  # no longer active or no longer matching: drop
    sync_since: str | None = None  # where the next sync starts (meta.sync_since of the last page)
    full_resync: bool = False  # the whole feed was listed: replace a copy rather than patch it


class FeedClient:
    def __init__(
        self,
        server_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not server_url.startswith(("http://", "https://")):
            raise ValueError("server_url must start with http:// or https://")
        if not api_key or api_key != api_key.strip():
            raise ValueError("api_key is empty or has surrounding whitespace")
        self.server_url = server_url.rstrip("/")
        self._key = api_key
        self._retry, self._page_size, self._sleep = retry or RetryPolicy(), page_size, sleep
        self._http = httpx.Client(
            base_url=self.server_url,
            timeout=timeout,
            transport=transport,
            headers={"X-API-Key": api_key, "User-Agent": "iocfeed-client/1"},
            follow_redirects=False,  # a redirect must not carry the key to another host
        )

    def __repr__(self) -> str:
        return f"FeedClient({self.server_url!r})"

    def __enter__(self) -> FeedClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def iter_indicators(self, **filters: FilterValue) -> Iterator[Record]:
        """Every record matching the filters (the API's query parameters), following the cursor to the end."""
        _refuse(filters, CLIENT_MANAGED)
        for records, _meta in self._pages(_query(filters)):
            yield from records

    def sync(self, state: SyncState, **filters: FilterValue) -> SyncResult:
        """One delta poll. Updates `state` (sync_since, filters, blocklist) only once every page is in."""
        _refuse(filters, SYNC_MANAGED)
        bands = _wanted_bands(filters)
        server_filters = {k: v for k, v in filters.items() if k not in ("confidence", "min_confidence")}
        fingerprint = {k: sorted(_as_list(v)) for k, v in sorted(filters.items()) if _as_list(v)}
        full = state.sync_since is None or state.filters != fingerprint
        query = _query({**server_filters, "status": "all", "sort": "updated_at"})
        latest, meta = self._collect(query if full else {**query, "since": state.sync_since})
        if meta is not None and not full and _since_was_clamped(state.sync_since, meta):
            # The tier's lookback cut the delta short: changes before it are lost, so list everything.
            full = True
            latest, meta = self._collect(query)
        result = SyncResult(sync_since=(meta or {}).get("sync_since"), full_resync=full)
        for record in latest.values():
            keep = record.get("status") == "active" and (bands is None or record.get("confidence") in bands)
            (result.upserted if keep else result.removed).append(record)
        if state.blocklist is not None:
            blocklist = {} if full else dict(state.blocklist)
            for record in result.removed:
                blocklist.pop(record["id"], None)
            blocklist.update((r["id"], BlocklistEntry.from_record(r)) for r in result.upserted)
            if full:  # gone from the server entirely: still a removal for the copy
                result.removed += [asdict(e) for i, e in state.blocklist.items() if i not in latest]
            state.blocklist = blocklist
        state.sync_since, state.filters = result.sync_since or state.sync_since, fingerprint
        return result

    def _collect(self, query: dict[str, str]) -> tuple[dict[str, Record], Record | None]:
        # A row updated while we page shows up again further on; its last version wins.
        latest: dict[str, Record] = {}
        last_meta = None
        for records, meta in self._pages(query):
            latest.update((r["id"], r) for r in records)
            last_meta = meta
        return latest, last_meta

    def _pages(self, query: dict[str, str]) -> Iterator[tuple[list[Record], Record]]:
        params = {"limit": str(self._page_size), **query}
        while True:
            body = self._get_json("/api/v1/iocs", params)
            meta = body.get("meta") or {}
            yield body.get("data") or [], meta
            if not meta.get("next_cursor"):
                return
            params = {**params, "cursor": meta["next_cursor"]}

    def _get_json(self, path: str, params: Mapping[str, str]) -> Record:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.get(path, params=params)
            except httpx.TransportError as exc:
                if attempt >= self._retry.attempts:
                    raise ClientError(
                        f"cannot reach {self.server_url}: {type(exc).__name__}", code="unreachable"
                    ) from exc
                self._sleep(self._backoff(attempt))
                continue
            if response.status_code == 200:
                try:
                    body = response.json()
                except ValueError:
                    body = None
                if not isinstance(body, dict):
                    raise self._error(response, "the server's answer is not a JSON object")
                return body
            wait = _retry_after(response)
            if response.status_code == 429 or response.status_code in RETRYABLE_STATUSES:
                wait = self._backoff(attempt) if wait is None else wait
                if attempt < self._retry.attempts and wait <= self._retry.max_retry_after_seconds:
                    self._sleep(wait)
                    continue
            raise self._error(response)

    def _backoff(self, attempt: int) -> float:
        delay = min(self._retry.backoff_max_seconds, self._retry.backoff_seconds * 2 ** (attempt - 1))
        return delay * (0.5 + random.random() / 2)  # jitter: many cron jobs should not retry in step

    def _error(self, response: httpx.Response, fallback: str | None = None) -> ClientError:
        try:
            error = response.json().get("error") or {}
        except (ValueError, AttributeError):
            error = {}
        message = str(error.get("message") or fallback or response.reason_phrase or "request failed")
        if response.status_code == 429 and response.headers.get("Retry-After"):
            message += f" (Retry-After: {response.headers['Retry-After']} s)"
        return ClientError(
            message.replace(self._key, "[redacted]"),  # should the server ever echo it
            status=response.status_code,
            code=str(error.get("code") or f"http_{response.status_code}"),
            request_id=error.get("request_id") or response.headers.get("X-Request-ID"),
            details=error["details"] if isinstance(error.get("details"), dict) else {},
        )


def _as_list(value: FilterValue) -> list[str]:
    if isinstance(value, str | int):
        return [p.strip() for p in str(value).split(",") if p.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


def _query(filters: Mapping[str, FilterValue]) -> dict[str, str]:
    return {name: ",".join(_as_list(value)) for name, value in filters.items() if _as_list(value)}


def _refuse(filters: Mapping[str, object], managed: frozenset[str]) -> None:
    clash = sorted(set(filters) & managed)
    if clash:
        raise ValueError(f"the client sets {', '.join(clash)} itself; do not pass it as a filter")


def _wanted_bands(filters: Mapping[str, FilterValue]) -> set[str] | None:
    """The confidence bands a sync keeps, or None for every band."""
    bands = {b.lower() for b in _as_list(filters.get("confidence", ()))} or set(AT_LEAST["low"])
    minimum = [m.lower() for m in _as_list(filters.get("min_confidence", ()))]
    if bands - set(AT_LEAST) or len(minimum) > 1 or (minimum and minimum[0] not in AT_LEAST):
        raise ValueError(f"confidence and min_confidence take {', '.join(AT_LEAST['low'])}")
    if minimum:
        bands &= set(AT_LEAST[minimum[0]])
    return None if bands == set(AT_LEAST["low"]) else bands


def _since_was_clamped(requested: str | None, meta: Mapping[str, Any]) -> bool:
    applied = (meta.get("filters") or {}).get("since")
    if not requested or not applied:
        return False
    return datetime.fromisoformat(applied) > datetime.fromisoformat(requested)


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (what the API sends), or None if absent or not a number."""
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None
