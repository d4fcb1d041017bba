"""Who is calling: the API key from the request, checked against the store, and its tier.

Keys are accepted in `Authorization: Bearer <key>`, in `X-API-Key: <key>`, or as the password of
HTTP Basic auth (TAXII clients send it that way). When both headers are sent, Authorization wins.
Surrounding whitespace (a copied key with a trailing newline) is trimmed; anything else that is not
the exact key is invalid.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from litestar import Request

from iocfeed.api.services import Services
from iocfeed.config import Tier
from iocfeed.errors import AuthError, RateLimited, TierRequired
from iocfeed.keyring import looks_like_key
from iocfeed.timeutil import format_us, now_us

MISSING_KEY_MESSAGE = (
    'API key is required. Include it in the Authorization header as "Bearer sk_live_..." '
    "or in the X-API-Key header."
)


@dataclass(frozen=True, slots=True)
class Caller:
    key_id: str
    account_id: str
    account_name: str
    tier: Tier


def presented_key(request: Request) -> str | None:
    """The key the request carries, or None if it carries none."""
    authorization = request.headers.get("authorization", "").strip()
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        scheme = scheme.lower()
        credentials = credentials.strip()
        if scheme == "bearer":
            return credentials or None
        if scheme == "basic":
            return _basic_password(credentials)
        raise AuthError("invalid_api_key", "The Authorization header must use the Bearer scheme.")
    key = request.headers.get("x-api-key", "").strip()
    return key or None


def _basic_password(credentials: str) -> str | None:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthError("invalid_api_key", "The Basic credentials are not valid base64.") from None
    user, _, password = decoded.partition(":")
    return (password or user).strip() or None


def authenticate(request: Request, services: Services) -> Caller:
    """The caller, after counting the request against its limits; AuthError or RateLimited otherwise."""
    key = presented_key(request)
    if key is None:
        raise AuthError("missing_api_key", MISSING_KEY_MESSAGE)
    if not looks_like_key(key):
        raise AuthError("invalid_api_key", "The API key is not valid.")
    owner = services.key_cache.lookup(services.keyring.hash_key(key), services.read_engine)
    if owner is None:
        raise AuthError("invalid_api_key", "The API key is not valid.")
    if owner.revoked_at is not None:
        raise AuthError("invalid_api_key", "The API key has been revoked.")
    if owner.expires_at is not None and owner.expires_at <= now_us():
        raise AuthError("expired_api_key", f"The API key expired at {format_us(owner.expires_at)}.")
    tier = services.tiers.get(owner.tier)
    caller = Caller(owner.key_id, owner.account_id, owner.account_name, tier)
    state = request.scope.setdefault("state", {})
    state["key_id"] = caller.key_id
    state["tier"] = tier
    try:
        rate = services.limiter.check(caller.key_id, tier)
    except RateLimited:
        state["rate"] = services.limiter.state(caller.key_id, tier)
        raise
    if rate is not None:
        state["rate"] = rate
    return caller


def require_feature(caller: Caller, allowed: bool, feature: str, required_tier: str = "pro") -> None:
    """403 tier_required unless the caller's tier includes `feature`."""
    if not allowed:
        raise TierRequired(feature, required_tier, caller.tier.name)
