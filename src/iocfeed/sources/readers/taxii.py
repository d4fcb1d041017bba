"""TAXII 2.1 collections: one page of `GET {collection}/objects/` -> raw records, and the next request.

A page is an envelope `{"more": bool, "next": "…", "objects": [STIX objects]}`. The STIX reader
streams its objects; `more` and `next` may come before or after them, so they are known only once the
page has been read to its end (reading them earlier is a RuntimeError, not a silent `False`).

How a fetcher drives it (HTTP stays in the fetcher; this module only parses and builds URLs):

    query = ObjectsQuery(added_after=state.added_after, limit=1000)     # None on the first run
    while query is not None:
        response = GET objects_url(collection_url, query), Accept: MEDIA_TYPE
        page = TaxiiPage(body)
        yield from page                                      # raw records, streamed
        last = response.headers.get("X-TAXII-Date-Added-Last")
        high_water = max(high_water, last)                   # both are RFC 3339 UTC instants
        query = page.following(query, last)
    state.added_after = high_water                           # persisted once the run succeeded

`following` keeps the same filters and adds the server's `next` token; a server that pages by date
only (more, but no next) gets `added_after` moved to the page's X-TAXII-Date-Added-Last. A page that
claims more but offers no way forward raises ImportFormatError rather than looping for ever.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import IO, Any
from urllib.parse import quote, urlencode

from iocfeed.errors import ImportFormatError
from iocfeed.sources.readers import stix
from iocfeed.sources.records import RawRecord

MEDIA_TYPE = "application/taxii+json;version=2.1"  # Accept and Content-Type of every TAXII 2.1 call
DATE_ADDED_FIRST = "X-TAXII-Date-Added-First"
DATE_ADDED_LAST = "X-TAXII-Date-Added-Last"


@dataclass(frozen=True, slots=True)
class ObjectsQuery:
    """The filters of one objects request."""

    added_after: str | None = None  # RFC 3339; only objects added to the collection after it
    limit: int | None = None  # a page size to ask for (the server may give fewer)
    next: str | None = None  # the previous page's token
    types: tuple[str, ...] = ("indicator",)  # match[type] (ORed); () asks for every type


def objects_url(collection_url: str, query: ObjectsQuery) -> str:
    """`{collection_url}objects/?added_after=…&limit=…&next=…&match[type]=…` (TAXII URLs end in /)."""
    base = collection_url if collection_url.endswith("/") else collection_url + "/"
    params: list[tuple[str, str]] = []
    if query.added_after:
        params.append(("added_after", query.added_after))
    if query.limit:
        params.append(("limit", str(query.limit)))
    if query.next:
        params.append(("next", query.next))
    if query.types:
        params.append(("match[type]", ",".join(query.types)))
    encoded = urlencode(params, quote_via=quote, safe="[],:")
    return f"{base}objects/" + (f"?{encoded}" if encoded else "")


class TaxiiPage:
    """One objects envelope. Iterate it (once) for its records; then `more`, `next` and
    `following` say whether and how to ask for the next page."""

    def __init__(self, stream: IO[bytes] | IO[str]) -> None:
        self._stream = stream
        self._envelope: dict[str, Any] = {}
        self._state = "new"  # new -> reading -> done

    def __iter__(self) -> Iterator[RawRecord]:
        if self._state != "new":
            raise RuntimeError("a TAXII page is a stream: it can be read once")
        self._state = "reading"
        for index, obj in enumerate(stix.iter_objects(self._stream, self._envelope), start=1):
            yield from stix.records_from_object(obj, index)
        self._state = "done"

    def _finished(self) -> dict[str, Any]:
        if self._state != "done":
            raise RuntimeError("more and next are known only once the page has been read to its end")
        return self._envelope

    @property
    def more(self) -> bool:
        return self._finished().get("more") is True

    @property
    def next(self) -> str | None:
        token = self._finished().get("next")
        return token if isinstance(token, str) and token else None

    def following(self, query: ObjectsQuery, date_added_last: str | None) -> ObjectsQuery | None:
        """The request for the next page, or None when this was the last one."""
        if not self.more:
            return None
        if self.next and self.next != query.next:
            return replace(query, next=self.next)
        if not self.next and date_added_last and date_added_last != query.added_after:
            return replace(query, added_after=date_added_last, next=None)
        raise ImportFormatError(
            "the TAXII server says there is more but offers no way forward "
            f"(next {self.next!r}, {DATE_ADDED_LAST} {date_added_last!r})"
        )
