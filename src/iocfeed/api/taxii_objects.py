"""TAXII 2.1 objects, one object, its versions, and the manifest of a collection.

Filters (`added_after`, `limit`, `next`, `match[type|id|version|spec_version]`) and the paging
rules are in api.taxii_paging. Every page says where its objects sit in the collection's order
with X-TAXII-Date-Added-First and -Last; a client that polls again with added_after = the last
page's X-TAXII-Date-Added-Last misses nothing. An object's version (its `modified`) is its
date_added: iocfeed keeps one version of each object, the current one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.params import PathParameter
from sqlalchemy import Connection

from iocfeed.api.taxii import find_collection
from iocfeed.api.taxii_common import API_ROOT_PATH, taxii_caller, taxii_response
from iocfeed.api.taxii_paging import Entry, next_token, parse_object_query, read_page
from iocfeed.errors import NotFound
from iocfeed.exports.stix import STIX_MEDIA_TYPE, stix_object, stix_timestamp
from iocfeed.store.queries import with_sources
from iocfeed.store.writer import read_sync_clock
from iocfeed.timeutil import now_us

PathId = Annotated[str, PathParameter()]

_COLLECTION = f"{API_ROOT_PATH}collections/{{collection_id:str}}/"


@dataclass(frozen=True, slots=True)
class Page:
    entries: list[Entry]
    envelope: dict[str, Any]  # `more`, and `next` when there is more
    objects: list[dict[str, Any]]  # the STIX objects, when asked for

    def headers(self) -> dict[str, str]:
        if not self.entries:
            return {}
        return {
            "X-TAXII-Date-Added-First": stix_timestamp(self.entries[0].date_added),
            "X-TAXII-Date-Added-Last": stix_timestamp(self.entries[-1].date_added),
        }


def _read(request: Request, collection_id: str, object_id: str | None = None, *, render: bool) -> Page:
    """What every route starts with: the caller, the query, one page read in one transaction."""
    svc, caller = taxii_caller(request)
    collection = find_collection(collection_id)
    query = parse_object_query(
        request.query_params, svc.keyring, collection, caller.tier.max_limit, object_id=object_id
    )
    with svc.read_engine.connect() as connection, connection.begin():
        # The clock before the rows (store.writer): a pass never serves a row newer than it.
        upper = query.upper if query.upper is not None else read_sync_clock(connection)
        entries, more = read_page(connection, query, upper)
        objects = _objects(connection, entries) if render else []
    if object_id is not None and not entries and query.after is None:
        raise NotFound(f"No object {object_id[:100]!r} (with those filters) in this collection.")
    envelope: dict[str, Any] = {"more": more}
    if more:
        envelope["next"] = next_token(svc.keyring, query, upper, entries[-1])
    return Page(entries, envelope, objects)


def _objects(connection: Connection, entries: list[Entry]) -> list[dict[str, Any]]:
    rows = [entry.row for entry in entries if entry.row is not None]
    sources = {row.pk: source for row, source in with_sources(connection, rows, None)}
    now = now_us()
    objects = []
    for entry in entries:
        if entry.reference is not None:
            objects.append(entry.reference)
        elif entry.row is not None:
            obj = stix_object(entry.row, sources.get(entry.row.pk), now=now)
            if obj is not None:
                objects.append(obj)
    return objects


@get(f"{_COLLECTION}objects/", include_in_schema=False, sync_to_thread=True)
def get_objects(request: Request, collection_id: PathId) -> Response[bytes]:
    page = _read(request, collection_id, render=True)
    body = {**page.envelope, "objects": page.objects} if page.objects else page.envelope
    return taxii_response(body, page.headers())


@get(f"{_COLLECTION}objects/{{object_id:str}}/", include_in_schema=False, sync_to_thread=True)
def get_object(request: Request, collection_id: PathId, object_id: PathId) -> Response[bytes]:
    page = _read(request, collection_id, object_id, render=True)
    body = {**page.envelope, "objects": page.objects} if page.objects else page.envelope
    return taxii_response(body, page.headers())


@get(f"{_COLLECTION}objects/{{object_id:str}}/versions/", include_in_schema=False, sync_to_thread=True)
def get_object_versions(request: Request, collection_id: PathId, object_id: PathId) -> Response[bytes]:
    page = _read(request, collection_id, object_id, render=False)
    body = dict(page.envelope)
    if page.entries:
        body["versions"] = [stix_timestamp(entry.date_added) for entry in page.entries]
    return taxii_response(body, page.headers())


@get(f"{_COLLECTION}manifest/", include_in_schema=False, sync_to_thread=True)
def get_manifest(request: Request, collection_id: PathId) -> Response[bytes]:
    page = _read(request, collection_id, render=False)
    body = dict(page.envelope)
    if page.entries:
        body["objects"] = [
            {
                "id": entry.stix_id,
                "date_added": stix_timestamp(entry.date_added),
                "version": stix_timestamp(entry.date_added),
                "media_type": STIX_MEDIA_TYPE,
            }
            for entry in page.entries
        ]
    return taxii_response(body, page.headers())


TAXII_OBJECT_ROUTES = [get_objects, get_object, get_object_versions, get_manifest]
