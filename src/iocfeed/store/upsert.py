"""Turn a batch of observations from one source into sightings and derived indicator rows.

The indicator row is derived from all of its sightings (the provenance): first/last seen, sources,
categories, sectors, tags, ATT&CK, the most reliable source per category, the score and its band.
`updated_at` moves to the batch clock only when something a client sees changed; a re-listing that
changes nothing visible leaves the row alone, so delta clients do not download the feed again.

Runs inside `store.writer.write_batch`: the single writer, so reading max(pk) to number new rows and
reading sightings before writing them are both race-free.

Big feeds are mostly values never seen before, each listed once: those take a fast path that
derives the row directly from its one sighting (`_derive_new`, which must agree with `_derive`; a
test holds them to it). Values already stored, or listed by several articles in one batch, take
the general path. Reads and writes of a batch go through `store.bulk` (the driver's cursor, one
statement per batch for reads, multi-row inserts or COPY for new rows).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import msgspec
from sqlalchemy import Connection, func, select

from iocfeed.scoring import SourceEvidence, lifecycle_status, score_indicator
from iocfeed.sectors import sectors_mask
from iocfeed.store import bulk
from iocfeed.store.codes import BEST_SIGHTING_COLUMN, categories_mask
from iocfeed.store.schema import indicators, sightings, sources
from iocfeed.store.writer import WriteBatch

# Namespace of indicator ids: uuid5(INDICATOR_NAMESPACE, "type|value"). Fixed forever.
INDICATOR_NAMESPACE = uuid.UUID("6f1c2b7e-3d0a-5e8b-9c41-2a7d9e0b5c13")
_CHUNK = 5_000  # indicators re-derived per statement by rederive_indicators

_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder(list[str]).decode
_NAMESPACE_BYTES = INDICATOR_NAMESPACE.bytes
# uuid5 keeps two bits of the 9th byte for the RFC 4122 variant (10xx): its first hex digit.
_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def indicator_uuid(indicator_type: str, value: str) -> str:
    """str(uuid.uuid5(INDICATOR_NAMESPACE, "type|value")), without building UUID objects (this runs
    for every row of every feed)."""
    digest = hashlib.sha1(_NAMESPACE_BYTES + f"{indicator_type}|{value}".encode(), usedforsecurity=False)
    h = digest.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT_DIGIT[h[16]]}{h[17:20]}-{h[20:32]}"


def encode_list(values: Iterable[str]) -> str:
    return _json_encode(sorted(set(values))).decode()


@lru_cache(maxsize=4_096)
def _encode_tuple(values: tuple[str, ...]) -> str:
    return encode_list(values)


def _encode_cached(values: Iterable[str]) -> str:
    """encode_list for the tags, sectors and techniques of one observation: feeds repeat a few
    combinations a million times."""
    return _encode_tuple(values if type(values) is tuple else tuple(values))


def decode_list(text: str | None) -> list[str]:
    return _json_decode(text) if text else []


@dataclass(slots=True)
class Observation:
    """One source saying one canonical value, with what it said about it."""

    type: str
    value: str  # canonical
    raw_value: str  # as the source wrote it
    first_seen: int | None = None  # µs, as the source dates it; None: when we saw it
    last_seen: int | None = None
    tags: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    mitre_techniques: tuple[str, ...] = ()
    context: str | None = None
    reference_url: str | None = None
    article_id: str | None = None
    screened_by: str | None = None  # name of the warning list that marks it a false positive


@dataclass(frozen=True, slots=True)
class SourceInfo:
    id: int
    name: str
    category: str
    reliability: int


@dataclass(slots=True)
class UpsertCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: UpsertCounts) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged


@dataclass(slots=True)
class _Sighting:
    pk: int
    indicator_pk: int
    source_id: int
    article_id: str | None
    first_seen: int
    last_seen: int
    raw_value: str
    context: str | None
    reference_url: str | None
    tags: set[str] = field(default_factory=set)
    industries: set[str] = field(default_factory=set)
    mitre_techniques: set[str] = field(default_factory=set)
    is_new: bool = False
    is_dirty: bool = False


# Indicator columns a client sees (score aside: it moves continuously and is served as-is).
_VISIBLE = (
    "status",
    "status_reason",
    "confidence",
    "first_seen",
    "last_seen",
    "source_count",
    "categories_mask",
    "industries",
    "tags",
    "mitre_techniques",
    "context",
    "best_sighting",
    "best_government_sighting",
    "best_commercial_sighting",
    "best_community_sighting",
)


def load_sources(connection: Connection) -> dict[int, SourceInfo]:
    rows = connection.execute(select(sources.c.id, sources.c.name, sources.c.category, sources.c.reliability))
    return {row.id: SourceInfo(row.id, row.name, row.category, row.reliability) for row in rows}


def upsert_observations(
    batch: WriteBatch,
    source: SourceInfo,
    observations: list[Observation],
    *,
    observed_at: int,
    last_seen_granularity: int,
) -> UpsertCounts:
    """Record `observations` from `source` and re-derive every indicator they touch."""
    connection = batch.connection
    merged = _merge(observations)
    if not merged:
        return UpsertCounts()
    keys = {(obs.type, obs.value) for obs in merged}
    ids = {key: indicator_uuid(*key) for key in keys}
    existing = _fetch_indicators(connection, list(ids.values()))
    sightings_by_pk = _fetch_sightings(connection, [row["pk"] for row in existing.values()])

    next_indicator_pk = _next_pk(connection, indicators.c.pk)
    next_sighting_pk = _next_pk(connection, sightings.c.pk)
    pk_by_key: dict[tuple[str, str], int] = {}
    for key in sorted(keys):
        row = existing.get(ids[key])
        if row is not None:
            pk_by_key[key] = row["pk"]
        else:
            pk_by_key[key] = next_indicator_pk
            next_indicator_pk += 1
            sightings_by_pk[pk_by_key[key]] = []

    screened: dict[int, str] = {}
    for obs in merged:
        indicator_pk = pk_by_key[(obs.type, obs.value)]
        if obs.screened_by:
            screened[indicator_pk] = obs.screened_by
        group = sightings_by_pk[indicator_pk]
        sighting = next(
            (s for s in group if s.source_id == source.id and s.article_id == obs.article_id), None
        )
        first = min(obs.first_seen or observed_at, observed_at)
        last = min(max(obs.last_seen or observed_at, first), observed_at)
        if sighting is None:
            group.append(
                _Sighting(
                    pk=next_sighting_pk,
                    indicator_pk=indicator_pk,
                    source_id=source.id,
                    article_id=obs.article_id,
                    first_seen=first,
                    last_seen=last,
                    raw_value=obs.raw_value,
                    context=obs.context,
                    reference_url=obs.reference_url,
                    tags=set(obs.tags),
                    industries=set(obs.industries),
                    mitre_techniques=set(obs.mitre_techniques),
                    is_new=True,
                )
            )
            next_sighting_pk += 1
        else:
            _apply(sighting, obs, first, last, last_seen_granularity)

    sources_by_id = load_sources(connection)
    sources_by_id[source.id] = source
    counts = UpsertCounts()
    new_rows, changed_rows, rescored_rows = [], [], []
    for key, indicator_pk in pk_by_key.items():
        old = existing.get(ids[key])
        status = old["status"] if old else "active"
        reason = old["status_reason"] if old else None
        if indicator_pk in screened and status != "revoked":
            status, reason = "false-positive", screened[indicator_pk]
        derived = _derive(key[0], status, reason, sightings_by_pk[indicator_pk], sources_by_id, observed_at)
        if old is None:
            derived.update(pk=indicator_pk, id=ids[key], type=key[0], value=key[1])
            derived.update(created_at=batch.clock, updated_at=batch.clock)
            new_rows.append(derived)
            counts.new += 1
        elif any(derived[name] != old[name] for name in _VISIBLE):
            derived.update(b_pk=indicator_pk, updated_at=batch.clock)
            changed_rows.append(derived)
            counts.updated += 1
        else:
            counts.unchanged += 1
            if derived["score"] != old["score"] or derived["base_score"] != old["base_score"]:
                rescored_rows.append(
                    {"b_pk": indicator_pk, "score": derived["score"], "base_score": derived["base_score"]}
                )

    _write(connection, batch.clock, new_rows, changed_rows, rescored_rows, sightings_by_pk)
    return counts


def _merge(observations: list[Observation]) -> list[Observation]:
    """One observation per (type, value, article): a feed listing a value twice is one sighting."""
    merged: dict[tuple[str, str, str | None], Observation] = {}
    for obs in observations:
        key = (obs.type, obs.value, obs.article_id)
        seen = merged.get(key)
        if seen is None:
            merged[key] = obs
            continue
        if obs.first_seen is not None and (seen.first_seen is None or obs.first_seen < seen.first_seen):
            seen.first_seen = obs.first_seen
        if obs.last_seen is not None and (seen.last_seen is None or obs.last_seen > seen.last_seen):
            seen.last_seen = obs.last_seen
        seen.tags = tuple(set(seen.tags) | set(obs.tags))
        seen.industries = tuple(set(seen.industries) | set(obs.industries))
        seen.mitre_techniques = tuple(set(seen.mitre_techniques) | set(obs.mitre_techniques))
        seen.context = seen.context or obs.context
        seen.reference_url = seen.reference_url or obs.reference_url
        seen.screened_by = seen.screened_by or obs.screened_by
    return list(merged.values())


def _apply(sighting: _Sighting, obs: Observation, first: int, last: int, granularity: int) -> None:
    """Fold a re-observation into an existing sighting; mark it dirty only if it really changed."""
    before = (
        sighting.first_seen,
        sighting.last_seen,
        sighting.context,
        sighting.reference_url,
        len(sighting.tags),
        len(sighting.industries),
        len(sighting.mitre_techniques),
    )
    sighting.first_seen = min(sighting.first_seen, first)
    # last_seen moves only in steps of `granularity` (see Settings.last_seen_granularity_seconds).
    if last - sighting.last_seen >= granularity:
        sighting.last_seen = last
    if obs.context and not sighting.context:
        sighting.context = obs.context
    if obs.reference_url and not sighting.reference_url:
        sighting.reference_url = obs.reference_url
    sighting.tags.update(obs.tags)
    sighting.industries.update(obs.industries)
    sighting.mitre_techniques.update(obs.mitre_techniques)
    after = (
        sighting.first_seen,
        sighting.last_seen,
        sighting.context,
        sighting.reference_url,
        len(sighting.tags),
        len(sighting.industries),
        len(sighting.mitre_techniques),
    )
    if after != before:
        sighting.is_dirty = True


def _rank(sighting: _Sighting, sources_by_id: dict[int, SourceInfo]) -> tuple[int, int, int]:
    """Sort key of 'most reliable': reliability, then the most recent sighting, then the oldest row."""
    return (sources_by_id[sighting.source_id].reliability, sighting.last_seen, -sighting.pk)


def _derive(
    indicator_type: str,
    status: str,
    status_reason: str | None,
    group: list[_Sighting],
    sources_by_id: dict[int, SourceInfo],
    now: int,
) -> dict[str, object]:
    evidence: dict[int, SourceEvidence] = {}
    for sighting in group:
        info = sources_by_id[sighting.source_id]
        seen = evidence.get(info.id)
        if seen is None or sighting.last_seen > seen.last_seen:
            evidence[info.id] = SourceEvidence(info.name, info.category, info.reliability, sighting.last_seen)
    breakdown = score_indicator(indicator_type, list(evidence.values()), now)
    ranked = sorted(group, key=lambda s: _rank(s, sources_by_id), reverse=True)
    best_by_category: dict[str, int] = {}
    for sighting in ranked:
        best_by_category.setdefault(sources_by_id[sighting.source_id].category, sighting.pk)
    context = next((s.context for s in ranked if s.context), None)
    industries = set().union(*(s.industries for s in group))
    derived: dict[str, object] = {
        "status": lifecycle_status(status, breakdown.score),
        "status_reason": status_reason,
        "score": breakdown.score,
        "base_score": breakdown.base,
        "confidence": breakdown.confidence,
        "first_seen": min(s.first_seen for s in group),
        "last_seen": max(s.last_seen for s in group),
        "source_count": len(evidence),
        "categories_mask": categories_mask({e.category for e in evidence.values()}),
        "industries_mask": sectors_mask(sorted(industries)),
        "industries": encode_list(industries),
        "tags": encode_list(set().union(*(s.tags for s in group))),
        "mitre_techniques": encode_list(set().union(*(s.mitre_techniques for s in group))),
        "context": context,
        "best_sighting": ranked[0].pk,
    }
    for category, column in BEST_SIGHTING_COLUMN.items():
        derived[column] = best_by_category.get(category)
    return derived


def _fetch_indicators(connection: Connection, ids: list[str]) -> dict[str, dict[str, object]]:
    columns = [
        indicators.c.pk,
        indicators.c.id,
        indicators.c.score,
        indicators.c.base_score,
        *(indicators.c[name] for name in _VISIBLE),
    ]
    found: dict[str, dict[str, object]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for row in connection.execute(select(*columns).where(indicators.c.id.in_(chunk))).mappings():
            found[row["id"]] = dict(row)
    return found


def _fetch_sightings(connection: Connection, pks: list[int]) -> dict[int, list[_Sighting]]:
    grouped: dict[int, list[_Sighting]] = {pk: [] for pk in pks}
    for start in range(0, len(pks), _CHUNK):
        chunk = pks[start : start + _CHUNK]
        rows = connection.execute(select(sightings).where(sightings.c.indicator_pk.in_(chunk)))
        for row in rows:
            grouped[row.indicator_pk].append(
                _Sighting(
                    pk=row.pk,
                    indicator_pk=row.indicator_pk,
                    source_id=row.source_id,
                    article_id=row.article_id,
                    first_seen=row.first_seen,
                    last_seen=row.last_seen,
                    raw_value=row.raw_value,
                    context=row.context,
                    reference_url=row.reference_url,
                    tags=set(decode_list(row.tags)),
                    industries=set(decode_list(row.industries)),
                    mitre_techniques=set(decode_list(row.mitre_techniques)),
                )
            )
    return grouped


def _next_pk(connection: Connection, column) -> int:  # type: ignore[no-untyped-def]
    return (connection.execute(select(func.max(column))).scalar() or 0) + 1


def _sighting_row(sighting: _Sighting, clock: int) -> dict[str, object]:
    return {
        "first_seen": sighting.first_seen,
        "last_seen": sighting.last_seen,
        "context": sighting.context,
        "reference_url": sighting.reference_url,
        "tags": encode_list(sighting.tags),
        "industries": encode_list(sighting.industries),
        "mitre_techniques": encode_list(sighting.mitre_techniques),
        "updated_at": clock,
    }


def _write(
    connection: Connection,
    clock: int,
    new_rows: list[dict[str, object]],
    changed_rows: list[dict[str, object]],
    rescored_rows: list[dict[str, object]],
    sightings_by_pk: dict[int, list[_Sighting]],
) -> None:
    if new_rows:
        connection.execute(insert(indicators), new_rows)
    new_sightings, dirty_sightings = [], []
    for group in sightings_by_pk.values():
        for sighting in group:
            if sighting.is_new:
                row = _sighting_row(sighting, clock)
                row.update(
                    pk=sighting.pk,
                    indicator_pk=sighting.indicator_pk,
                    source_id=sighting.source_id,
                    article_id=sighting.article_id,
                    raw_value=sighting.raw_value,
                    created_at=clock,
                )
                new_sightings.append(row)
            elif sighting.is_dirty:
                row = _sighting_row(sighting, clock)
                row["b_pk"] = sighting.pk
                dirty_sightings.append(row)
    if new_sightings:
        connection.execute(insert(sightings), new_sightings)
    if dirty_sightings:
        connection.execute(
            update(sightings).where(sightings.c.pk == bindparam("b_pk")),
            dirty_sightings,
        )
    # executemany UPDATE: the SET clause is every key of the row dicts except the b_pk bind.
    by_indicator = update(indicators).where(indicators.c.pk == bindparam("b_pk"))
    if changed_rows:
        connection.execute(by_indicator, changed_rows)
    if rescored_rows:
        connection.execute(by_indicator, rescored_rows)


def rederive_indicators(batch: WriteBatch, pks: list[int], *, now: int) -> UpsertCounts:
    """Re-derive indicators from their sightings (after a source's reliability or category changed,
    or as time decays scores); bump updated_at only where what a client sees changed."""
    counts = UpsertCounts()
    sources_by_id = load_sources(batch.connection)
    columns = [
        indicators.c.pk,
        indicators.c.type,
        indicators.c.score,
        indicators.c.base_score,
        *(indicators.c[name] for name in _VISIBLE),
    ]
    for start in range(0, len(pks), _CHUNK):
        chunk = pks[start : start + _CHUNK]
        rows = [
            dict(r)
            for r in batch.connection.execute(select(*columns).where(indicators.c.pk.in_(chunk))).mappings()
        ]
        grouped = _fetch_sightings(batch.connection, [row["pk"] for row in rows])
        changed, rescored = [], []
        for old in rows:
            group = grouped[old["pk"]]
            if not group:
                counts.unchanged += 1
                continue
            derived = _derive(old["type"], old["status"], old["status_reason"], group, sources_by_id, now)
            if any(derived[name] != old[name] for name in _VISIBLE):
                derived.update(b_pk=old["pk"], updated_at=batch.clock)
                changed.append(derived)
                counts.updated += 1
            else:
                counts.unchanged += 1
                if derived["score"] != old["score"] or derived["base_score"] != old["base_score"]:
                    rescored.append(
                        {"b_pk": old["pk"], "score": derived["score"], "base_score": derived["base_score"]}
                    )
        _write(batch.connection, batch.clock, [], changed, rescored, {})
    return counts
