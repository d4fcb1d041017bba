"""TAXII 2.1 pages: records through the STIX reader, paging state, and the next request."""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from iocfeed.errors import ImportFormatError
from iocfeed.sources.readers.taxii import MEDIA_TYPE, ObjectsQuery, TaxiiPage, objects_url

PAGE = Path(__file__).parent.parent / "fixtures" / "feeds" / "taxii21_envelope.json"
COLLECTION = "https://taxii.northwind-intel.com/api/v21/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/"


def ip_indicator(n: int) -> dict:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
        "pattern": f"[ipv4-addr:value = '45.137.21.{n}']",
        "pattern_type": "stix",
        "valid_from": "2025-03-03T06:00:00Z",
    }


def page(envelope: dict) -> TaxiiPage:
    return TaxiiPage(io.BytesIO(json.dumps(envelope).encode()))


def test_fixture_page_records_and_paging_fields_after_the_objects():
    with open(PAGE, "rb") as stream:
        taxii_page = TaxiiPage(stream)
        records = list(taxii_page)
    assert [(r.type, r.value) for r in records[:2]] == [
        ("ipv4", "194.26.29.113"),
        ("domain", "login-m365-verify.com"),
    ]
    assert records[0].location == "indicator--fff375b4-379b-42ca-b32b-9ff09a584c9c"
    assert records[2].error == "unsupported STIX pattern: ANDed comparisons"
    assert taxii_page.more is True
    assert taxii_page.next == "MjAyNS0wMy0wM1QwNjowMjowMC4wMDBafGluZGljYXRvci0tMTJkNmYyMzU"


def test_paging_fields_before_the_objects():
    taxii_page = page({"more": False, "next": None, "objects": [ip_indicator(1)]})
    assert [r.value for r in taxii_page] == ["45.137.21.1"]
    assert (taxii_page.more, taxii_page.next) == (False, None)


def test_an_empty_page():
    for body in (b"{}", b'{"more": false}', b""):
        taxii_page = TaxiiPage(io.BytesIO(body))
        assert list(taxii_page) == []
        assert taxii_page.more is False and taxii_page.next is None


def test_paging_fields_are_not_known_before_the_page_is_read():
    taxii_page = page({"objects": [ip_indicator(1)], "more": True, "next": "abc"})
    with pytest.raises(RuntimeError, match="read to its end"):
        _ = taxii_page.more
    records = iter(taxii_page)
    next(records)
    with pytest.raises(RuntimeError):
        _ = taxii_page.next  # one record in: the envelope's tail has not streamed past yet
    list(records)
    assert taxii_page.next == "abc"
    with pytest.raises(RuntimeError, match="read once"):
        list(taxii_page)


def test_a_broken_page_raises_import_format_error():
    taxii_page = TaxiiPage(io.BytesIO(b'{"more": true, "objects": [{"type": "indicator"'))
    with pytest.raises(ImportFormatError, match="invalid JSON"):
        list(taxii_page)


# ------------------------------------------------------------------------------------------ requests
def test_objects_url():
    assert objects_url(COLLECTION, ObjectsQuery()) == COLLECTION + "objects/?match[type]=indicator"
    url = objects_url(
        COLLECTION.rstrip("/"),
        ObjectsQuery(
            added_after="2025-03-01T00:00:00.000Z",
            limit=500,
            next="a+b/c=",
            types=("indicator", "vulnerability"),
        ),
    )
    parts = urlsplit(url)
    assert parts.path.endswith("/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/objects/")
    assert parse_qs(parts.query) == {
        "added_after": ["2025-03-01T00:00:00.000Z"],
        "limit": ["500"],
        "next": ["a+b/c="],  # a token is opaque: sent back exactly
        "match[type]": ["indicator,vulnerability"],
    }
    assert objects_url(COLLECTION, ObjectsQuery(types=())) == COLLECTION + "objects/"
    assert MEDIA_TYPE == "application/taxii+json;version=2.1"


def test_following_uses_next_then_the_date_header():
    query = ObjectsQuery(added_after="2025-03-01T00:00:00Z", limit=2)
    with_token = page({"more": True, "next": "t1", "objects": []})
    list(with_token)
    assert with_token.following(query, "2025-03-02T00:00:00Z") == ObjectsQuery(
        added_after="2025-03-01T00:00:00Z", limit=2, next="t1"
    )
    by_date = page({"more": True, "objects": []})
    list(by_date)
    assert by_date.following(query, "2025-03-02T00:00:00Z") == ObjectsQuery(
        added_after="2025-03-02T00:00:00Z", limit=2
    )
    last = page({"more": False, "next": "ignored", "objects": []})
    list(last)
    assert last.following(query, "2025-03-02T00:00:00Z") is None


@pytest.mark.parametrize(
    ("envelope", "query", "header"),
    [
        ({"more": True}, ObjectsQuery(), None),  # no next, no header
        (
            {"more": True},
            ObjectsQuery(added_after="2025-03-02T00:00:00Z"),
            "2025-03-02T00:00:00Z",
        ),  # no progress
        ({"more": True, "next": "same"}, ObjectsQuery(next="same"), "2025-03-02T00:00:00Z"),  # the same token
    ],
)
def test_a_page_that_cannot_move_forward_is_an_error(envelope, query, header):
    taxii_page = page(envelope)
    list(taxii_page)
    with pytest.raises(ImportFormatError, match="no way forward"):
        taxii_page.following(query, header)


def test_a_fetcher_loop_over_three_pages():
    """What a fetcher does, with the server's answers canned: every record once, then stop."""
    answers = {
        None: (
            {"more": True, "next": "p2", "objects": [ip_indicator(1), ip_indicator(2)]},
            "2025-03-03T06:00:01Z",
        ),
        "p2": ({"objects": [ip_indicator(3)], "more": True, "next": "p3"}, "2025-03-03T06:00:02Z"),
        "p3": ({"objects": [ip_indicator(4)], "more": False}, "2025-03-03T06:00:03Z"),
    }
    query: ObjectsQuery | None = ObjectsQuery(added_after="2025-03-01T00:00:00Z", limit=2)
    values, urls, high_water = [], [], ""
    while query is not None:
        urls.append(objects_url(COLLECTION, query))
        envelope, date_added_last = answers[query.next]
        taxii_page = page(envelope)
        values += [r.value for r in taxii_page]
        high_water = max(high_water, date_added_last)
        query = taxii_page.following(query, date_added_last)
    assert values == ["45.137.21.1", "45.137.21.2", "45.137.21.3", "45.137.21.4"]
    assert high_water == "2025-03-03T06:00:03Z"  # the next run's added_after
    assert all("added_after=2025-03-01T00:00:00Z" in url for url in urls)  # filters kept while paging
    assert "next=p3" in urls[-1]
