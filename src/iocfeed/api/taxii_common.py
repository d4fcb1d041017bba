"""What every TAXII 2.1 route shares: the media type and Accept negotiation, the caller check,
responses, and the TAXII error message (which `api.errors` uses for every error under
/api/taxii2/, so routing errors and auth failures there speak TAXII too)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response

from iocfeed.api.auth import Caller, authenticate, require_feature
from iocfeed.api.services import Services, services
from iocfeed.errors import IocfeedError

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
TAXII_PATH_PREFIX = "/api/taxii2"
API_ROOT_PATH = f"{TAXII_PATH_PREFIX}/feed/"
BASIC_CHALLENGE = 'Basic realm="iocfeed"'

_encode = msgspec.json.Encoder().encode
_decode_envelope = msgspec.json.Decoder(dict[str, dict[str, Any]]).decode


class NotAcceptable(IocfeedError):
    """406: the Accept header names no media type a TAXII 2.1 server can answer with."""

    code = "not_acceptable"
    status = 406


def is_taxii_path(path: str) -> bool:
    return path == TAXII_PATH_PREFIX or path.startswith(TAXII_PATH_PREFIX + "/")


def _acceptable(media_range: str) -> bool:
    media_type, *parameters = (piece.strip() for piece in media_range.split(";"))
    version = None
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        name, value = name.strip().lower(), value.strip().strip('"')
        if name == "q":
            try:
                if float(value) <= 0:
                    return False  # q=0 means "not this one"
            except ValueError:
                return False
        elif name == "version":
            version = value
    media_type = media_type.lower()
    if media_type in ("*/*", "application/*"):
        return True
    # Without a version, TAXII means the latest the server speaks: 2.1 here.
    return media_type == "application/taxii+json" and version in (None, "2.1")


def negotiate(request: Request) -> None:
    """NotAcceptable unless the Accept header (if any) allows the TAXII 2.1 media type."""
    accept = request.headers.get("accept", "").strip()
    if not accept or any(_acceptable(media_range) for media_range in accept.split(",")):
        return
    raise NotAcceptable(
        f"This server answers with {TAXII_MEDIA_TYPE}; the Accept header asks for {accept[:200]!r}.",
        details={"supported": [TAXII_MEDIA_TYPE]},
    )


def taxii_caller(request: Request) -> tuple[Services, Caller]:
    """Authenticate (Basic with the key as password, Bearer or X-API-Key), check the tier, negotiate."""
    svc = services(request)
    caller = authenticate(request, svc)
    require_feature(caller, caller.tier.exports, "TAXII")
    negotiate(request)
    return svc, caller


def taxii_response(body: Any, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(_encode(body), media_type=TAXII_MEDIA_TYPE, headers=headers or {})


def as_taxii_error(response: Response[bytes]) -> Response[bytes]:
    """The API's error envelope re-expressed as a TAXII 2.1 error message, same status and headers.

    `error_id` is the request id (also in X-Request-ID); `error_code` the API's error code."""
    try:
        error = _decode_envelope(response.content)["error"]  # type: ignore[arg-type]
    except (msgspec.DecodeError, KeyError, TypeError):
        error = {}
    status = response.status_code
    body: dict[str, Any] = {
        "title": HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error",
        "description": error.get("message", ""),
        "error_id": error.get("request_id", ""),
        "error_code": error.get("code", ""),
        "http_status": str(status),
    }
    if error.get("details"):
        body["details"] = error["details"]
    headers = dict(response.headers)
    headers.pop("content-type", None)
    headers.pop("content-length", None)
    if status == 401:
        headers["WWW-Authenticate"] = BASIC_CHALLENGE
    return Response(_encode(body), status_code=status, media_type=TAXII_MEDIA_TYPE, headers=headers)
