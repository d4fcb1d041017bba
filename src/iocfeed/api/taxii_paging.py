"""TAXII objects and manifest queries: filters, the stateless `next` token, and lossless pages.

Order and position. A collection is read in (date_added, pk) order, date_added being the row's
`updated_at` (the single writer's clock, store.writer), so objects that share one timestamp keep a
total order and a page boundary between them loses none. The fixed reference objects (the
producer identity and the TLP markings, which every object refers to) sort first: their
date_added is their `created`, and their pk is negative.

`next` is a signed token (the server secret, as list cursors are), not a server session: it holds
the position after the last object served, the filters, and the sync clock read when the first
page was served. Pages after the first stop at that clock, so one pass through a collection is a
fixed set even while ingestion writes: nothing is served twice in a pass (an object updated
meanwhile moves past the bound), and nothing is lost (whatever moved is served by the next poll
with `added_after` = the last X-TAXII-Date-Added-Last, which never exceeds that clock).

Status. Without `added_after` (a first, full download) only active indicators are served: the
client holds nothing to withdraw. With `added_after` (a delta) every status is: revoked and
false-positive indicators arrive with `revoked: true`, expired ones with `valid_until`.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar.datastructures import MultiDict
from sqlalchemy import Connection

from iocfeed.api.taxii import Collection
from iocfeed.errors import InvalidParameter
from iocfeed.exports.stix import REFERENCE_OBJECTS, STIX_TYPE_OF, is_exported
from iocfeed.keyring import Keyring
from iocfeed.store.queries import IndicatorFilter, IndicatorRow, PageRequest, list_page, list_page_by_ids
from iocfeed.timeutil import parse_instant

DEFAULT_PAGE = 1_000
MAX_MATCH_IDS = 1_000
TOKEN_KIND = "taxii-next-1"  # noqa: S105 (a format tag, not a secret)
_SCAN_BATCH = 1_000


class PageToken(msgspec.Struct, array_like=True, frozen=True):
    kind: str
    collection: str
    added_after: int | None
    types: tuple[str, ...] | None  # STIX types asked for
    ids: tuple[str, ...] | None  # STIX ids asked for
    versions: tuple[int, ...] | None  # exact versions asked for (None: the current one)
    spec_ok: bool
    upper: int  # sync clock of the pass: nothing newer is served in it
    after_date: int
    after_pk: int


_encode_token = msgspec.msgpack.Encoder().encode
_decode_token = msgspec.msgpack.Decoder(PageToken).decode


@dataclass(frozen=True, slots=True)
class ObjectQuery:
    collection: Collection
    added_after: int | None
    types: tuple[str, ...] | None
    ids: tuple[str, ...] | None
    versions: tuple[int, ...] | None
    spec_ok: bool
    limit: int
    upper: int | None = None  # None: first page (the caller reads the sync clock)
    after: tuple[int, int] | None = None
    all_statuses: bool = False  # one object by id: whatever its status

    def filters(self) -> tuple[object, ...]:
        return (self.added_after, self.types, self.ids, self.versions, self.spec_ok)


@dataclass(frozen=True, slots=True)
class Entry:
    """One object of a page: an indicator row, or a fixed reference object."""

    date_added: int
    pk: int
    stix_id: str
    row: IndicatorRow | None = None
    reference: dict[str, Any] | None = None


REFERENCE_ENTRIES = tuple(
    Entry(date, pk - len(REFERENCE_OBJECTS), obj["id"], reference=obj)
    for pk, (date, obj) in enumerate(REFERENCE_OBJECTS)
)


_FILTER_PARAMS = ("added_after", "match[type]", "match[id]", "match[version]", "match[spec_version]")
_DIGITS = re.compile(r"[0-9]+")


def _values(params: MultiDict, name: str) -> list[str] | None:
    """A filter's values: comma-separated, in one parameter or repeated; None when absent."""
    values = [piece.strip() for item in params.getall(name, []) for piece in item.split(",")]
    return [value for value in values if value] or None


def _timestamp(name: str, raw: str) -> int:
    try:
        return parse_instant(raw)
    except ValueError:
        raise InvalidParameter(name, f"{name} must be an RFC 3339 timestamp; got {raw[:64]!r}.") from None


def _limit(params: MultiDict, max_limit: int) -> int:
    raw = (params.get("limit") or "").strip()
    if not raw:
        return min(DEFAULT_PAGE, max_limit)
    if not _DIGITS.fullmatch(raw) or len(raw) > 12 or int(raw) < 1:
        raise InvalidParameter("limit", f"limit must be a whole number of at least 1; got {raw[:64]!r}.")
    return min(int(raw), max_limit)  # above the cap it is lowered to the cap, as on the list


def parse_object_query(
    params: MultiDict,
    keyring: Keyring,
    collection: Collection,
    max_limit: int,
    *,
    object_id: str | None = None,
) -> ObjectQuery:
    """The filters of a request (or of its `next` token), `limit` lowered to the tier cap."""
    added_text = (params.get("added_after") or "").strip()
    added_after = _timestamp("added_after", added_text) if added_text else None
    types = _values(params, "match[type]")
    ids = [object_id] if object_id is not None else _values(params, "match[id]")
    if ids is not None and len(ids) > MAX_MATCH_IDS:
        raise InvalidParameter("match[id]", f"match[id] takes at most {MAX_MATCH_IDS} ids.")
    version_values = _values(params, "match[version]") or ["last"]
    versions = None
    if not {"last", "first", "all"} & set(version_values):  # one version is kept: it is all three
        versions = tuple(sorted({_timestamp("match[version]", v) for v in version_values}))
    spec_versions = _values(params, "match[spec_version]")
    query = ObjectQuery(
        collection,
        added_after,
        tuple(sorted({t.lower() for t in types})) if types else None,
        tuple(sorted({i.lower() for i in ids})) if ids else None,
        versions,
        spec_versions is None or "2.1" in spec_versions,
        _limit(params, max_limit),
        all_statuses=object_id is not None,
    )
    token = (params.get("next") or "").strip()
    if not token:
        return query
    # A client may repeat its filters with `next` or leave them out; it may not change them.
    repeated = object_id is not None or any(params.get(name) for name in _FILTER_PARAMS)
    return _resume(query, keyring, token, check_filters=repeated)


def _resume(query: ObjectQuery, keyring: Keyring, text: str, *, check_filters: bool) -> ObjectQuery:
    payload = keyring.verify(text)
    try:
        token = _decode_token(payload) if payload is not None else None
    except msgspec.DecodeError:
        token = None
    if token is None or token.kind != TOKEN_KIND or token.collection != query.collection.id:
        raise InvalidParameter("next", "next is not valid here; pass it exactly as the last page gave it.")
    filters = (token.added_after, token.types, token.ids, token.versions, token.spec_ok)
    if check_filters and filters != query.filters():
        raise InvalidParameter("next", "next was made for other filters; keep them the same while paging.")
    return ObjectQuery(
        query.collection, *filters, query.limit, token.upper, (token.after_date, token.after_pk),
        query.all_statuses,
    )  # fmt: skip


def next_token(keyring: Keyring, query: ObjectQuery, upper: int, last: Entry) -> str:
    token = PageToken(
        TOKEN_KIND, query.collection.id, *query.filters(), upper, last.date_added, last.pk
    )  # fmt: skip
    return keyring.sign(_encode_token(token))


def _row_types(query: ObjectQuery) -> tuple[str, ...]:
    """The collection's indicator types that match[type] lets through."""
    types = query.collection.types
    if query.types is None:
        return types
    return tuple(t for t in types if STIX_TYPE_OF[t] in query.types)


def _wanted(entry: Entry, query: ObjectQuery, upper: int) -> bool:
    position = (entry.date_added, entry.pk)
    return (
        query.spec_ok
        and position[0] <= upper
        and (query.after is None or position > query.after)
        and (query.added_after is None or entry.date_added > query.added_after)
        and (query.types is None or entry.stix_id.partition("--")[0] in query.types)
        and (query.ids is None or entry.stix_id in query.ids)
        and (query.versions is None or entry.date_added in query.versions)
        and (entry.row is None or is_exported(entry.row.type, entry.row.value))
    )


def _row_entry(row: IndicatorRow) -> Entry:
    return Entry(row.updated_at, row.pk, f"{STIX_TYPE_OF[row.type]}--{row.id}", row=row)


def _scan(connection: Connection, query: ObjectQuery, flt: IndicatorFilter, upper: int) -> Iterator[Entry]:
    """Rows in (updated_at, pk) order after the position, up to the pass's clock, batch by batch."""
    position = query.after
    batch = query.limit + 1  # usually the only query a page needs
    while True:
        rows = list_page(connection, flt, PageRequest("updated_at", False, batch, 0, position))
        for row in rows:
            if row.updated_at > upper:
                return
            yield _row_entry(row)
        if len(rows) <= batch:
            return
        position = (rows[-1].updated_at, rows[-1].pk)
        batch = _SCAN_BATCH


def _by_ids(connection: Connection, query: ObjectQuery, flt: IndicatorFilter) -> Iterator[Entry]:
    uuids = [i.partition("--")[2] for i in query.ids or () if i.partition("--")[0] in STIX_TYPE_OF.values()]
    rows = [
        row
        for row in list_page_by_ids(connection, uuids)
        if row.type in (flt.types or ()) and (flt.statuses is None or row.status in flt.statuses)
    ]
    yield from sorted((_row_entry(row) for row in rows), key=lambda e: (e.date_added, e.pk))


def read_page(connection: Connection, query: ObjectQuery, upper: int) -> tuple[list[Entry], bool]:
    """Up to `limit` entries after the query's position, and whether more follow."""
    row_types = _row_types(query)
    statuses = None if query.all_statuses or query.added_after is not None else ("active",)
    flt = IndicatorFilter(types=row_types, statuses=statuses, since=query.added_after)
    rows: Iterator[Entry] = iter(())
    if row_types and query.spec_ok:
        rows = (
            _by_ids(connection, query, flt) if query.ids is not None else _scan(connection, query, flt, upper)
        )
    merged = heapq.merge(REFERENCE_ENTRIES, rows, key=lambda e: (e.date_added, e.pk))
    entries: list[Entry] = []
    for entry in merged:
        if _wanted(entry, query, upper):
            entries.append(entry)
            if len(entries) > query.limit:
                return entries[: query.limit], True
    return entries, False
