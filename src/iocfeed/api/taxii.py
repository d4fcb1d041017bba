"""TAXII 2.1 server, read-only: discovery, the API root, and its collections.

    /api/taxii2/                                    discovery
    /api/taxii2/feed/                               the API root
    /api/taxii2/feed/collections/                   collections (fixed ids; see COLLECTIONS)
    /api/taxii2/feed/collections/{id}/              one collection
    /api/taxii2/feed/collections/{id}/objects/ ...  objects, manifest (api.taxii_objects)

Every route needs a key of a tier with exports (pro): HTTP Basic with the key as password (user
name blank or `apikey`; TAXII clients send it that way), Bearer or X-API-Key. Errors under
/api/taxii2/ use TAXII's error message shape (api.errors). The routes are left out of
/openapi.json: TAXII is specified by OASIS, with its own media type and error shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Request, Response, get
from litestar.params import PathParameter

from iocfeed.api.taxii_common import API_ROOT_PATH, TAXII_MEDIA_TYPE, taxii_caller, taxii_response
from iocfeed.errors import NotFound
from iocfeed.exports.stix import INDICATOR_TYPES, STIX_MEDIA_TYPE

PathId = Annotated[str, PathParameter()]

# TAXII's max_content_length is the largest request body the server takes. This one takes no
# bodies (it is read-only); the figure is the web framework's own body limit.
MAX_CONTENT_LENGTH = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Collection:
    id: str  # fixed forever: clients store it
    title: str
    description: str
    types: tuple[str, ...]  # iocfeed indicator types whose objects the collection holds

    def resource(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "can_read": True,
            "can_write": False,
            "media_types": [STIX_MEDIA_TYPE],
        }


NETWORK_TYPES = ("ipv4", "ipv6", "domain", "url", "email")
HASH_TYPES = ("md5", "sha1", "sha256", "sha512")
COLLECTIONS: tuple[Collection, ...] = (
    Collection(
        "b710a5b6-e931-5b26-914c-5e4bc6b099e9",
        "All indicators",
        "Every indicator, vulnerability (CVE) and ATT&CK technique in the feed.",
        (*INDICATOR_TYPES, "cve", "mitre-attack"),
    ),
    Collection(
        "0925b4ff-9991-5b67-8c30-5016a514fcd0",
        "Network indicators",
        "IPv4 and IPv6 addresses, domains, URLs and email addresses.",
        NETWORK_TYPES,
    ),
    Collection(
        "c6a5e905-e97f-5bfb-9b57-6ecb328dea2f",
        "File hashes",
        "MD5, SHA-1, SHA-256 and SHA-512 hashes of malicious files.",
        HASH_TYPES,
    ),
    Collection(
        "9d34c452-17f3-5d6c-bf51-4ed20766227b",
        "Vulnerabilities",
        "CVEs named in advisories and known-exploited lists, as STIX vulnerability objects.",
        ("cve",),
    ),
)
_BY_ID = {collection.id: collection for collection in COLLECTIONS}


def find_collection(collection_id: str) -> Collection:
    collection = _BY_ID.get(collection_id.strip().lower())
    if collection is None:
        raise NotFound(f"No collection with id {collection_id[:64]!r} in this API root.")
    return collection


@get("/api/taxii2/", include_in_schema=False, sync_to_thread=True)
def discovery(request: Request) -> Response[bytes]:
    taxii_caller(request)
    root = f"{str(request.base_url).rstrip('/')}{API_ROOT_PATH}"
    return taxii_response(
        {
            "title": "iocfeed TAXII 2.1",
            "description": "Canonical, scored, deduplicated indicators of compromise, read-only.",
            "default": root,
            "api_roots": [root],
        }
    )


@get(API_ROOT_PATH, include_in_schema=False, sync_to_thread=True)
def api_root(request: Request) -> Response[bytes]:
    taxii_caller(request)
    return taxii_response(
        {
            "title": "iocfeed",
            "description": "The feed's indicators as STIX 2.1 objects, by collection.",
            "versions": [TAXII_MEDIA_TYPE],
            "max_content_length": MAX_CONTENT_LENGTH,
        }
    )


@get(f"{API_ROOT_PATH}collections/", include_in_schema=False, sync_to_thread=True)
def list_collections(request: Request) -> Response[bytes]:
    taxii_caller(request)
    return taxii_response({"collections": [collection.resource() for collection in COLLECTIONS]})


@get(f"{API_ROOT_PATH}collections/{{collection_id:str}}/", include_in_schema=False, sync_to_thread=True)
def get_collection(request: Request, collection_id: PathId) -> Response[bytes]:
    taxii_caller(request)
    return taxii_response(find_collection(collection_id).resource())


TAXII_DISCOVERY_ROUTES = [discovery, api_root, list_collections, get_collection]
