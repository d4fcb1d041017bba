"""TAXII 2.1: every endpoint, header, media type and error shape; auth; filters; lossless paging."""

from __future__ import annotations

import base64
import json

import pytest
import stix2
from stix2validator import ValidationOptions, validate_instance

from iocfeed.api.errors import envelope
from iocfeed.api.taxii import COLLECTIONS
from iocfeed.api.taxii_common import as_taxii_error
from iocfeed.exports.stix import STIX_MEDIA_TYPE
from iocfeed.sources.records import RawRecord
from tests.conftest import ingest_values

TAXII = "application/taxii+json;version=2.1"
ROOT = "/api/taxii2/feed/"
ALL, NETWORK, HASHES, VULNS = (c.id for c in COLLECTIONS)
REFERENCE_TYPES = {"identity", "marking-definition"}


def objects_path(collection: str = ALL, suffix: str = "objects/") -> str:
    return f"{ROOT}collections/{collection}/{suffix}"


def call(feed, path: str, key: str | None = None, headers: dict | None = None, **params):
    """GET as a TAXII client does: Accept the TAXII media type, the key as Basic password."""
    return feed.client.get(
        path,
        params=params or None,
        headers={"Accept": TAXII, **(headers or {})},
        auth=("apikey", key or feed.pro_key),
    )


def ok(response) -> dict:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == TAXII
    return response.json()


def assert_taxii_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == TAXII
    body = response.json()
    assert body["title"] and body["description"]
    assert body["http_status"] == str(status)
    assert body["error_code"] == code
    assert body["error_id"] == response.headers["x-request-id"]
    assert "error" not in body
    return body


def page_through(feed, collection: str = ALL, suffix: str = "objects/", **params) -> list[list[dict]]:
    pages, token = [], None
    while True:
        body = ok(
            call(feed, objects_path(collection, suffix), **params, **({"next": token} if token else {}))
        )
        pages.append(body.get("objects", []))
        if not body["more"]:
            assert "next" not in body
            return pages
        token = body["next"]


# Discovery, API root, collections


def test_discovery(feed):
    body = ok(call(feed, "/api/taxii2/"))
    assert body["title"] and body["description"]
    assert body["api_roots"] == ["http://testserver.local/api/taxii2/feed/"]
    assert body["default"] in body["api_roots"]


def test_api_root(feed):
    body = ok(call(feed, ROOT))
    assert body["versions"] == [TAXII]
    assert body["max_content_length"] > 0 and body["title"]


def test_collections(feed):
    body = ok(call(feed, f"{ROOT}collections/"))
    assert [c["id"] for c in body["collections"]] == [ALL, NETWORK, HASHES, VULNS]
    for collection in body["collections"]:
        assert collection["can_read"] is True and collection["can_write"] is False
        assert collection["media_types"] == [STIX_MEDIA_TYPE]
        assert ok(call(feed, f"{ROOT}collections/{collection['id']}/")) == collection
    assert_taxii_error(
        call(feed, f"{ROOT}collections/00000000-0000-0000-0000-000000000000/"), 404, "not_found"
    )


# Auth, tiers, Accept, error shape


@pytest.mark.parametrize("user", ["apikey", ""])
def test_basic_auth_with_the_key_as_password(feed, user):
    credentials = base64.b64encode(f"{user}:{feed.pro_key}".encode()).decode()
    response = feed.client.get(ROOT, headers={"Authorization": f"Basic {credentials}", "Accept": TAXII})
    ok(response)


def test_bearer_and_x_api_key_are_accepted(feed):
    ok(feed.client.get(ROOT, headers={"Authorization": f"Bearer {feed.pro_key}", "Accept": TAXII}))
    ok(feed.client.get(ROOT, headers={"X-API-Key": feed.pro_key}))


def test_missing_and_wrong_keys_are_401_with_a_basic_challenge(feed):
    for response, code in (
        (feed.client.get("/api/taxii2/", headers={"Accept": TAXII}), "missing_api_key"),
        (call(feed, ROOT, key="sk_live_" + "x" * 43), "invalid_api_key"),
        (feed.client.get(ROOT, auth=("apikey", "not-a-key")), "invalid_api_key"),
    ):
        assert_taxii_error(response, 401, code)
        assert response.headers["www-authenticate"] == 'Basic realm="iocfeed"'


def test_free_tier_gets_403_in_taxii_shape(feed):
    body = assert_taxii_error(call(feed, objects_path(), key=feed.free_key), 403, "tier_required")
    assert body["details"]["required_tier"] == "pro"


def test_routing_errors_speak_taxii_too(feed):
    assert_taxii_error(call(feed, "/api/taxii2/nowhere/"), 404, "not_found")
    response = feed.client.post(objects_path(), auth=("apikey", feed.pro_key), headers={"Accept": TAXII})
    assert_taxii_error(response, 405, "method_not_allowed")
    # Outside /api/taxii2/ the API's own envelope is unchanged.
    assert feed.client.get("/api/v1/nowhere").json()["error"]["code"] == "not_found"


def test_error_reshaping_keeps_status_headers_and_details():
    api_error = envelope(
        429, "rate_limit_exceeded", "Slow down.", "req_abc", {"retry_after": 3}, {"Retry-After": "3"}
    )
    response = as_taxii_error(api_error)
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"
    assert response.media_type == TAXII
    assert json.loads(response.content) == {
        "title": "Too Many Requests",
        "description": "Slow down.",
        "error_id": "req_abc",
        "error_code": "rate_limit_exceeded",
        "http_status": "429",
        "details": {"retry_after": 3},
    }


@pytest.mark.parametrize(
    "accept", [TAXII, "application/taxii+json", "application/taxii+json; version=2.1", "*/*", "application/*"]
)
def test_acceptable_media_types(feed, accept):
    ok(call(feed, ROOT, headers={"Accept": accept}))


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",
        "application/taxii+json;version=2.0",
        "application/vnd.oasis.taxii+json; version=2.0",
        "application/taxii+json;version=2.1;q=0, text/html",
        "text/html",
    ],
)
def test_unsupported_accept_is_406(feed, accept):
    body = assert_taxii_error(call(feed, objects_path(), headers={"Accept": accept}), 406, "not_acceptable")
    assert body["details"]["supported"] == [TAXII]


# Objects and paging


def test_objects_of_the_all_collection_validate(feed):
    response = call(feed, objects_path(), limit=10_000)
    body = ok(response)
    assert body["more"] is False and "next" not in body
    objects = body["objects"]
    assert objects[0]["type"] == "marking-definition" and objects[5]["type"] == "identity"
    assert not any(obj.get("revoked") for obj in objects)  # a full download carries live objects only
    assert {o["type"] for o in objects} == {*REFERENCE_TYPES, "indicator", "vulnerability", "attack-pattern"}
    bundle = {"type": "bundle", "id": "bundle--6b1a2e5e-0c1d-4a43-9d62-2c3a0c1b9f00", "objects": objects}
    results = validate_instance(bundle, ValidationOptions(enforce_refs=True))
    assert results.is_valid and not results.errors, [str(e) for e in results.errors]
    stix2.parse(bundle, allow_custom=False)
    manifest = ok(call(feed, objects_path(suffix="manifest/"), limit=10_000))["objects"]
    assert response.headers["x-taxii-date-added-first"] == manifest[0]["date_added"]
    assert response.headers["x-taxii-date-added-last"] == manifest[-1]["date_added"]


def test_paging_to_the_end_returns_every_object_exactly_once(feed):
    whole = ok(call(feed, objects_path(), limit=10_000))["objects"]
    manifest = ok(call(feed, objects_path(suffix="manifest/"), limit=10_000))["objects"]
    shared = max(sum(1 for m in manifest if m["date_added"] == d["date_added"]) for d in manifest)
    assert shared > 7  # many objects share one write-batch timestamp: pages must split them safely
    pages = page_through(feed, limit=7)
    assert all(len(page) == 7 for page in pages[:-1])
    ids = [obj["id"] for page in pages for obj in page]
    assert len(ids) == len(set(ids)) == len(whole)
    assert ids == [obj["id"] for obj in whole]


def test_next_is_bound_to_its_filters_and_collection(feed):
    body = ok(call(feed, objects_path(), limit=3, **{"match[type]": "indicator"}))
    token = body["next"]
    # Repeating the filters or leaving them out both continue the same pass.
    repeated = ok(call(feed, objects_path(), limit=3, next=token, **{"match[type]": "indicator"}))
    bare = ok(call(feed, objects_path(), limit=3, next=token))
    assert repeated["objects"] == bare["objects"]
    assert {o["type"] for o in bare["objects"]} == {"indicator"}
    changed = call(feed, objects_path(), next=token, **{"match[type]": "vulnerability"})
    assert assert_taxii_error(changed, 400, "invalid_parameter")["details"]["parameter"] == "next"
    assert_taxii_error(call(feed, objects_path(NETWORK), next=token), 400, "invalid_parameter")
    assert_taxii_error(call(feed, objects_path(), next=token[:-2] + "AA"), 400, "invalid_parameter")
    assert_taxii_error(call(feed, objects_path(), next="garbage"), 400, "invalid_parameter")


def test_limit_is_capped_and_validated(feed):
    assert ok(call(feed, objects_path(), limit=1_000_000))["more"] is False  # lowered to the cap
    for bad in ("0", "-1", "abc", "1.5"):
        body = assert_taxii_error(call(feed, objects_path(), limit=bad), 400, "invalid_parameter")
        assert body["details"]["parameter"] == "limit"


def test_added_after_is_strictly_after(feed):
    manifest = ok(call(feed, objects_path(suffix="manifest/"), limit=10_000))["objects"]
    dates = sorted({m["date_added"] for m in manifest})
    assert len(dates) >= 4  # the reference objects' two dates and the feed's write batches
    for cut in dates:
        response = call(feed, objects_path(suffix="manifest/"), limit=10_000, added_after=cut)
        later = ok(response).get("objects", [])
        assert {m["id"] for m in later} >= {m["id"] for m in manifest if m["date_added"] > cut}
        assert all(m["date_added"] > cut for m in later)
        if later:
            assert response.headers["x-taxii-date-added-first"] == later[0]["date_added"]
    nothing = call(feed, objects_path(), added_after=dates[-1])
    assert ok(nothing) == {"more": False}
    assert "x-taxii-date-added-first" not in nothing.headers
    body = assert_taxii_error(call(feed, objects_path(), added_after="yesterday"), 400, "invalid_parameter")
    assert body["details"]["parameter"] == "added_after"


def test_a_delta_carries_withdrawals_and_a_full_download_does_not(feed):
    full = ok(call(feed, objects_path(), limit=10_000))["objects"]
    delta = ok(call(feed, objects_path(), limit=10_000, added_after="2000-01-01T00:00:00Z"))["objects"]
    withdrawn = {o["name"] for o in delta if o.get("revoked")}
    assert withdrawn == {"Domain malware-0.example-bad.com", "Domain malware-1.example-bad.com"}
    assert [o["name"] for o in delta if "valid_until" in o] == ["Domain malware-2.example-bad.com"]
    assert not any(o.get("revoked") or "valid_until" in o for o in full)
    assert len(delta) == len(full) + 3  # the reference objects date from after 2000: in both


def test_match_type(feed):
    kinds = {
        stix_type: {
            o["type"] for o in ok(call(feed, objects_path(), **{"match[type]": stix_type}))["objects"]
        }
        for stix_type in ("indicator", "vulnerability", "attack-pattern", "identity", "marking-definition")
    }
    assert kinds == {k: {k} for k in kinds}
    both = ok(call(feed, objects_path(), **{"match[type]": "vulnerability,attack-pattern"}))["objects"]
    assert {o["type"] for o in both} == {"vulnerability", "attack-pattern"} and len(both) == 6
    assert ok(call(feed, objects_path(VULNS), **{"match[type]": "indicator"})) == {"more": False}


def test_match_id_version_and_spec_version(feed):
    objects = ok(call(feed, objects_path(), limit=10_000))["objects"]
    first, second = objects[10], objects[20]
    found = ok(call(feed, objects_path(), **{"match[id]": f"{first['id']},{second['id']}"}))["objects"]
    assert sorted(o["id"] for o in found) == sorted([first["id"], second["id"]])
    version = first["modified"]
    for versions, expected in ((version, 1), ("2001-01-01T00:00:00Z", 0), ("first", 1), ("all", 1)):
        body = ok(call(feed, objects_path(), **{"match[id]": first["id"], "match[version]": versions}))
        assert len(body.get("objects", [])) == expected, versions
    assert ok(call(feed, objects_path(), **{"match[spec_version]": "2.0"})) == {"more": False}
    assert len(
        ok(call(feed, objects_path(), limit=10_000, **{"match[spec_version]": "2.1"}))["objects"]
    ) == len(objects)
    body = assert_taxii_error(
        call(feed, objects_path(), **{"match[version]": "soon"}), 400, "invalid_parameter"
    )
    assert body["details"]["parameter"] == "match[version]"


def test_collections_hold_their_types(feed):
    patterns = {
        collection: [
            o["pattern"]
            for o in ok(call(feed, objects_path(collection), limit=10_000))["objects"]
            if "pattern" in o
        ]
        for collection in (NETWORK, HASHES)
    }
    network_prefixes = ("[ipv4-addr:", "[ipv6-addr:", "[domain-name:", "[url:", "[email-addr:")
    assert patterns[NETWORK] and all(p.startswith(network_prefixes) for p in patterns[NETWORK])
    assert patterns[HASHES] and all(p.startswith("[file:hashes.") for p in patterns[HASHES])
    vulns = ok(call(feed, objects_path(VULNS)))["objects"]
    assert {o["type"] for o in vulns} - REFERENCE_TYPES == {"vulnerability"}


def test_one_object_and_its_versions(feed):
    manifest = ok(call(feed, objects_path(suffix="manifest/"), limit=10_000))["objects"]
    entry = next(m for m in manifest if m["id"].startswith("indicator--"))
    response = call(feed, objects_path(suffix=f"objects/{entry['id']}/"))
    (obj,) = ok(response)["objects"]
    assert obj["id"] == entry["id"] and obj["modified"] == entry["version"] == entry["date_added"]
    assert response.headers["x-taxii-date-added-first"] == entry["date_added"]
    versions = ok(call(feed, objects_path(suffix=f"objects/{entry['id']}/versions/")))
    assert versions == {"more": False, "versions": [entry["version"]]}
    assert entry["media_type"] == STIX_MEDIA_TYPE
    missing = "indicator--00000000-0000-5000-8000-000000000000"
    assert_taxii_error(call(feed, objects_path(suffix=f"objects/{missing}/")), 404, "not_found")
    assert_taxii_error(call(feed, objects_path(suffix=f"objects/{missing}/versions/")), 404, "not_found")
    if entry["id"] not in {m["id"] for m in ok(call(feed, objects_path(HASHES, "manifest/")))["objects"]}:
        assert_taxii_error(call(feed, objects_path(HASHES, f"objects/{entry['id']}/")), 404, "not_found")


def test_a_withdrawn_object_is_served_by_id(feed):
    withdrawn = ok(call(feed, objects_path(), limit=10_000, added_after="2000-01-01T00:00:00Z"))["objects"]
    revoked = next(o for o in withdrawn if o.get("revoked"))
    (obj,) = ok(call(feed, objects_path(suffix=f"objects/{revoked['id']}/")))["objects"]
    assert obj["revoked"] is True


def test_manifest_pages_like_objects(feed):
    pages = page_through(feed, suffix="manifest/", limit=9)
    entries = [entry for page in pages for entry in page]
    objects = ok(call(feed, objects_path(), limit=10_000))["objects"]
    assert [e["id"] for e in entries] == [o["id"] for o in objects]
    assert all(e["media_type"] == STIX_MEDIA_TYPE for e in entries)
    assert [e["date_added"] for e in entries] == sorted(e["date_added"] for e in entries)


# A pass is a fixed set while ingestion writes; the next poll picks up what changed.


def test_a_pass_is_stable_under_writes_and_the_next_poll_catches_up(live):
    def ids_of(objects):
        return [o["id"] for o in objects if o["type"] not in REFERENCE_TYPES]

    ingest_values(
        live.engine, live.settings, "Feed A", "community", [f"198.51.100.{i}" for i in range(1, 21)]
    )
    first_response = call(live, objects_path(), limit=8)
    first = ok(first_response)
    served = ids_of(first["objects"])
    # While the client pages: new indicators arrive, and one already served gains a source.
    already = next(o["name"].rsplit(" ", 1)[-1] for o in first["objects"] if o["type"] not in REFERENCE_TYPES)
    ingest_values(live.engine, live.settings, "Feed B", "commercial",
                  [RawRecord("l1", already, tags="c2"), *(f"203.0.113.{i}" for i in range(1, 6))])  # fmt: skip
    token, last_seen = first["next"], first_response.headers["x-taxii-date-added-last"]
    while token:
        response = call(live, objects_path(), limit=8, next=token)
        body = ok(response)
        served += ids_of(body.get("objects", []))
        last_seen = response.headers.get("x-taxii-date-added-last", last_seen)
        token = body.get("next")
    assert len(served) == len(set(served)) == 20  # the pass: exactly the 20 there when it began
    delta = ok(call(live, objects_path(), limit=100, added_after=last_seen))["objects"]
    names = sorted(o["name"] for o in delta)
    assert names == sorted([f"IPv4 address {already}", *(f"IPv4 address 203.0.113.{i}" for i in range(1, 6))])
