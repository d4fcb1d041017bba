"""The one exception tree of iocfeed.

Every error the library raises on purpose derives from `IocfeedError`. The API maps these to its
error envelope in one place (`iocfeed.api.errors`); the CLI turns them into one-line messages.

    IocfeedError
    ├── InvalidIndicator        a value is not a valid indicator of the type asked for (reason says why)
    ├── InvalidParameter        a request parameter has a bad value (parameter, allowed)
    ├── AuthError               401: code is missing_api_key, invalid_api_key or expired_api_key
    ├── TierRequired            403: the key's tier does not include the feature
    ├── RateLimited             429: retry_after seconds
    ├── NotFound                404: unknown object
    ├── QuotaExceeded           an account has as many keys as its tier allows
    ├── ConfigError             bad configuration (tiers file, database URL, ...)
    ├── ImportFormatError       a whole input file cannot be read (not a single bad row)
    ├── FetchError              a source could not be fetched or its body is unusable (url sanitized)
    └── StoreUnavailable        503: the database cannot be reached
"""

from __future__ import annotations

from typing import Any


class IocfeedError(Exception):
    """Base of every deliberate iocfeed error."""

    code = "internal_error"
    status = 500

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidIndicator(IocfeedError, ValueError):
    code = "invalid_indicator"
    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidParameter(IocfeedError):
    code = "invalid_parameter"
    status = 400

    def __init__(self, parameter: str, message: str, *, allowed: list[str] | None = None) -> None:
        details: dict[str, Any] = {"parameter": parameter}
        if allowed is not None:
            details["allowed"] = allowed
        super().__init__(message, details=details)
        self.parameter = parameter


class AuthError(IocfeedError):
    status = 401

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class TierRequired(IocfeedError):
    code = "tier_required"
    status = 403

    def __init__(self, feature: str, required_tier: str, current_tier: str) -> None:
        super().__init__(
            f"{feature} needs the {required_tier} tier; this key's account is on the {current_tier} tier.",
            details={"required_tier": required_tier, "current_tier": current_tier},
        )


class RateLimited(IocfeedError):
    code = "rate_limit_exceeded"
    status = 429

    def __init__(self, window: str, limit: int, retry_after: int) -> None:
        super().__init__(
            f"Rate limit of {limit} requests per {window} exceeded; retry in {retry_after} s.",
            details={"window": window, "limit": limit, "retry_after": retry_after},
        )
        self.retry_after = retry_after


class NotFound(IocfeedError):
    code = "not_found"
    status = 404


class QuotaExceeded(IocfeedError):
    code = "quota_exceeded"
    status = 403


class ConfigError(IocfeedError):
    code = "config_error"


class ImportFormatError(IocfeedError):
    code = "import_format_error"


class FetchError(IocfeedError):
    """A feed could not be fetched (after retries) or its body is unusable. The message names the URL
    only in its sanitized form (no userinfo, no secret-looking query values): it ends up in logs."""

    code = "fetch_error"
    status = 502

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        attempts: int | None = None,
        upstream_status: int | None = None,
    ) -> None:
        details: dict[str, Any] = {}
        if url is not None:
            details["url"] = url
        if attempts is not None:
            details["attempts"] = attempts
        if upstream_status is not None:
            details["upstream_status"] = upstream_status
        super().__init__(message, details=details)
        self.url = url
        self.attempts = attempts
        self.upstream_status = upstream_status


class StoreUnavailable(IocfeedError):
    code = "unavailable"
    status = 503
