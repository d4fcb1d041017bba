"""Query parameters of GET /api/v1/iocs: parsed, validated and clamped to the caller's tier.

Every rule of API.md lives here: comma lists (and repeated parameters) for enum filters, aliases,
`min_confidence`, the `since` lookback clamp, the `limit` cap, `offset` xor `cursor`, the default
sort. A known parameter with a bad value is a 400 `invalid_parameter` naming it; unknown parameters
are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from litestar.datastructures import MultiDict

from iocfeed.config import LIST_FORMATS, Tier
from iocfeed.errors import InvalidParameter
from iocfeed.indicators.types import ALL_TYPES, parse_type
from iocfeed.sectors import SECTORS, normalize_sector, sectors_mask
from iocfeed.store.codes import CATEGORIES, CONFIDENCES, STATUSES
from iocfeed.store.queries import IndicatorFilter, PageRequest
from iocfeed.timeutil import MICROS_PER_DAY, format_us, parse_instant

SORTS = ("updated_at", "-updated_at", "first_seen", "-first_seen", "last_seen", "-last_seen")
STATUS_VALUES = (*STATUSES, "all")
MIN_CONFIDENCE_VALUES = ("low", "medium", "high")
MAX_OFFSET = 100_000_000  # past this, paging by offset is pointless and slow: use the cursor
DEFAULT_LIMIT = 100
_INTEGER = re.compile(r"[+-]?[0-9]+")
_AT_LEAST = {"low": ("high", "medium", "low"), "medium": ("high", "medium"), "high": ("high",)}


@dataclass(frozen=True, slots=True)
class ListQuery:
    filter: IndicatorFilter
    page: PageRequest
    format: str
    cursor: str | None
    requested_limit: int
    since_requested: int | None  # before the lookback clamp (cursors are bound to what was asked)
    echo: dict[str, object]  # meta.filters: the filters as applied

    def count_parts(self) -> tuple[object, ...]:
        """What meta.total depends on (the effective since, not the requested one)."""
        f = self.filter
        return (f.types, f.confidences, f.categories, f.industries_mask, f.statuses, f.since)

    def digest_parts(self) -> tuple[object, ...]:
        f = self.filter
        return (
            f.types,
            f.confidences,
            f.categories,
            f.industries_mask,
            f.statuses,
            self.since_requested,
            self.page.sort,
            self.page.descending,
        )


# An empty parameter (`since=` from a URL template with nothing filled in) counts as absent.


def _values(params: MultiDict, name: str) -> list[str] | None:
    """All comma-separated values of a parameter (repeated or not); None if absent or empty."""
    raw = params.getall(name, None)
    if not raw:
        return None
    values = [piece.strip() for item in raw for piece in item.split(",")]
    return [v for v in values if v] or None


def _single(params: MultiDict, name: str) -> str | None:
    raw = params.getall(name, None)
    if not raw:
        return None
    return raw[-1].strip() or None


def _enum(params: MultiDict, name: str, allowed: tuple[str, ...]) -> tuple[str, ...] | None:
    values = _values(params, name)
    if values is None:
        return None
    lowered = [v.lower() for v in values]
    bad = [v for v in lowered if v not in allowed]
    if bad:
        raise InvalidParameter(
            name, f"{name} must be one of {', '.join(allowed)}; got {bad[0][:64]!r}.", allowed=list(allowed)
        )
    return tuple(sorted(set(lowered)))


def _types(params: MultiDict) -> tuple[str, ...] | None:
    values = _values(params, "type")
    if values is None:
        return None
    found = []
    for value in values:
        parsed = parse_type(value) if value.lower() in (*ALL_TYPES, "mitre_attack") else None
        if parsed is None:
            raise InvalidParameter(
                "type",
                f"type must be one of {', '.join(ALL_TYPES)}; got {value[:64]!r}.",
                allowed=list(ALL_TYPES),
            )
        found.append(parsed.value)
    return tuple(sorted(set(found)))


def _industries(params: MultiDict) -> tuple[str, ...] | None:
    values = _values(params, "industry")
    if values is None:
        return None
    found = []
    for value in values:
        slug = normalize_sector(value)
        if slug is None:
            raise InvalidParameter(
                "industry", f"industry must be a CISA sector slug; got {value[:64]!r}.", allowed=list(SECTORS)
            )
        found.append(slug)
    return tuple(sorted(set(found)))


def _integer(params: MultiDict, name: str, default: int, minimum: int) -> int:
    raw = _single(params, name)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw):  # ASCII digits only: int() would also take '٣' or '1_000'
        raise InvalidParameter(name, f"{name} must be a whole number; got {raw[:64]!r}.")
    try:
        value = int(raw)
    except ValueError:  # more digits than Python will convert
        raise InvalidParameter(name, f"{name} is too large.") from None
    if value < minimum:
        raise InvalidParameter(name, f"{name} must be at least {minimum}; got {value}.")
    return value


def parse_list_query(
    params: MultiDict,
    tier: Tier,
    now: int,
    *,
    max_limit: int | None = None,
    default_limit: int = DEFAULT_LIMIT,
    formats: tuple[str, ...] | None = LIST_FORMATS,
) -> ListQuery:
    """The list's parameters. Exports reuse it with their own cap and default for `limit`, and
    formats=None when `format` means something else to them (or nothing)."""
    types = _types(params)
    confidences = _enum(params, "confidence", CONFIDENCES)
    min_confidence = _enum(params, "min_confidence", MIN_CONFIDENCE_VALUES)
    if min_confidence is not None:
        if len(min_confidence) > 1:
            raise InvalidParameter(
                "min_confidence", "min_confidence takes one value.", allowed=list(MIN_CONFIDENCE_VALUES)
            )
        at_least = _AT_LEAST[min_confidence[0]]
        confidences = tuple(c for c in (confidences or at_least) if c in at_least)
    categories = _enum(params, "category", CATEGORIES)
    industries = _industries(params)
    statuses = _enum(params, "status", STATUS_VALUES)
    if statuses is None:
        statuses = ("active",)
    elif "all" in statuses:
        statuses = None

    since_text = _single(params, "since")
    since_requested = None
    since = None
    if since_text is not None:
        try:
            since_requested = parse_instant(since_text)
        except ValueError:
            raise InvalidParameter(
                "since",
                f"since must be an ISO 8601 timestamp such as 2024-01-01T00:00:00Z; got {since_text[:64]!r}.",
            ) from None
        since = max(since_requested, now - tier.lookback_days * MICROS_PER_DAY)

    sort_text = _single(params, "sort")
    if sort_text is None:
        sort_text = "updated_at" if since is not None else "-updated_at"
    if sort_text not in SORTS:
        raise InvalidParameter(
            "sort", f"sort must be one of {', '.join(SORTS)}; got {sort_text[:64]!r}.", allowed=list(SORTS)
        )

    requested_limit = _integer(params, "limit", default_limit, 1)
    limit = min(requested_limit, tier.max_limit if max_limit is None else max_limit)
    offset = _integer(params, "offset", 0, 0)
    if offset > MAX_OFFSET:
        raise InvalidParameter("offset", f"offset must be at most {MAX_OFFSET}; page deeper with the cursor.")
    cursor = _single(params, "cursor") or None
    if cursor is not None and offset:
        raise InvalidParameter(
            "offset", "offset cannot be combined with cursor; the cursor already marks the position."
        )

    fmt = "json"
    if formats is not None:
        fmt_values = _enum(params, "format", formats)
        if fmt_values is not None and len(fmt_values) > 1:
            raise InvalidParameter("format", "format takes one value.", allowed=list(formats))
        fmt = fmt_values[0] if fmt_values else formats[0]

    flt = IndicatorFilter(
        types=types,
        confidences=confidences,
        categories=categories,
        industries_mask=sectors_mask(industries) if industries else None,
        statuses=statuses,
        since=since,
    )
    page = PageRequest(
        sort=sort_text.lstrip("-"), descending=sort_text.startswith("-"), limit=limit, offset=offset
    )
    echo: dict[str, object] = {}
    for name, value in (
        ("type", types),
        ("confidence", confidences),
        ("category", categories),
        ("industry", industries),
        ("status", statuses or ["all"]),
    ):
        if value is not None:
            echo[name] = list(value)
    if since is not None:
        echo["since"] = format_us(since)
    echo["sort"] = sort_text
    return ListQuery(flt, page, fmt, cursor, requested_limit, since_requested, echo)
