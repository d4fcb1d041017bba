"""Turn a batch of observations from one source into sightings and derived indicator rows.

The indicator row is derived from all of its sightings (the provenance): first/last seen, sources,
categories, sectors, tags, ATT&CK, the most reliable source per category, the score and its band.
`updated_at` moves to the batch clock only when something a client sees changed; a re-listing that
changes nothing visible leaves the row alone, so delta clients do not download the feed again.

Runs inside `store.writer.write_batch`: the single writer, so reading max(pk) to number new rows and
reading sightings before writing them are both race-free.

Big feeds are mostly values never seen before, each listed once: those take a fast path that
builds the rows directly from the one sighting (`_NewRows`, which must agree with `_derive`; a test
holds them to it). Values already stored, or listed by several articles in one batch, take the
general path. What needs no database (merging, ids, the new rows) is `prepare_observations`, so a
pipeline can do it on its reading thread while its writer thread writes the previous batch
(`upsert_prepared`). Reads and writes of a batch go through `store.bulk` (the driver's cursor: one
statement per batch for reads, multi-row inserts or COPY for new rows).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import msgspec
from sqlalchemy import Connection, func, select

from iocfeed.scoring import SourceEvidence, lifecycle_status, score_indicator
from iocfeed.sectors import sectors_mask
from iocfeed.store import bulk
from iocfeed.store.codes import BEST_SIGHTING_COLUMN, categories_mask
from iocfeed.store.counts import add_inserted as count_inserted_indicators
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


@lru_cache(maxsize=1_024)
def _sectors_mask_tuple(values: tuple[str, ...]) -> int:
    return sectors_mask(sorted(set(values)))


def _sectors_mask_cached(values: Iterable[str]) -> int:
    return _sectors_mask_tuple(values if type(values) is tuple else tuple(values))


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
    prepared = prepare_observations(source, observations, observed_at=observed_at)
    return upsert_prepared(batch, prepared, last_seen_granularity=last_seen_granularity)


@dataclass(slots=True)
class PreparedBatch:
    """A batch's observations merged and keyed by value, in id order, with the rows each value
    seen once would get were it new: all the work that needs no database, so that a pipeline can do
    it while its writer thread writes the previous batch. `upsert_prepared` writes it."""

    source: SourceInfo
    observed_at: int
    keys: list[tuple[str, str]]  # (type, value), in id order
    by_key: dict[tuple[str, str], list[Observation]]
    ids: dict[tuple[str, str], str]
    # (indicator row, sighting row) in column order, as lists: the writer numbers them (_number_new).
    new_rows: dict[tuple[str, str], tuple[list[object], list[object]]]


def prepare_observations(
    source: SourceInfo, observations: list[Observation], *, observed_at: int
) -> PreparedBatch:
    """What `upsert_prepared` needs of `observations`, without the database."""
    by_key: dict[tuple[str, str], list[Observation]] = {}
    for obs in observations:
        key = (obs.type, obs.value)
        group = by_key.get(key)
        if group is None:
            by_key[key] = [obs]
            continue
        # Listed again: the same article (or the feed itself) merges into one sighting, another
        # article is a sighting of its own.
        for seen in group:
            if seen.article_id == obs.article_id:
                _fold(seen, obs)
                break
        else:
            group.append(obs)
    ids = {key: indicator_uuid(*key) for key in by_key}
    # New rows are numbered in id order: the id index (random uuids) is then filled in order.
    keys = sorted(by_key, key=ids.__getitem__)
    rows = _NewRows(source, observed_at)
    new_rows = {key: rows(group[0], ids[key]) for key, group in by_key.items() if len(group) == 1}
    return PreparedBatch(source, observed_at, keys, by_key, ids, new_rows)


def upsert_prepared(
    batch: WriteBatch, prepared: PreparedBatch, *, last_seen_granularity: int
) -> UpsertCounts:
    """Write a prepared batch: new values seen once take their prepared rows, the others (values
    already stored, or from several articles) are folded into their sightings and re-derived."""
    if not prepared.keys:
        return UpsertCounts()
    connection = batch.connection
    ids, clock = prepared.ids, batch.clock
    existing = _fetch_indicators(connection, [ids[key] for key in prepared.keys])
    next_pk = _next_pk(connection, indicators.c.pk)
    next_sighting_pk = _next_pk(connection, sightings.c.pk)
    writes, counts = _Writes(), UpsertCounts()
    pk_by_key: dict[tuple[str, str], int] = {}  # of the general path's keys
    general: list[tuple[str, str]] = []
    # This loop runs for every row of a big feed, on the writer thread while the reading thread
    # wants the GIL: hence the bound methods.
    find_existing = existing.get
    find_new = prepared.new_rows.get
    add_indicator, add_sighting = writes.new_indicators.append, writes.new_sightings.append
    for key in prepared.keys:
        row = find_existing(ids[key])
        if row is not None:
            pk_by_key[key] = row["pk"]  # type: ignore[assignment]
            general.append(key)
            continue
        rows = find_new(key)
        if rows is None:
            pk_by_key[key] = next_pk
            general.append(key)
        else:
            indicator, sighting = rows
            _number_new(indicator, sighting, next_pk, next_sighting_pk, clock)
            add_indicator(indicator)
            add_sighting(sighting)
            next_sighting_pk += 1
        next_pk += 1
    counts.new = len(writes.new_indicators)
    if general:
        plan = _Plan(
            batch, prepared.source, prepared.observed_at, last_seen_granularity, next_sighting_pk, writes
        )
        plan.add_general(general, prepared.by_key, ids, existing, pk_by_key)
        counts.add(plan.counts)
    _write(connection, clock, writes)
    return counts


@dataclass(slots=True)
class _Writes:
    """What one batch writes: rows as tuples in the column orders below, updates as dicts."""

    new_indicators: list[Sequence[object]] = field(default_factory=list)
    new_sightings: list[Sequence[object]] = field(default_factory=list)
    changed: list[dict[str, object]] = field(default_factory=list)  # derived columns + b_pk + updated_at
    rescored: list[dict[str, object]] = field(default_factory=list)  # b_pk, score, base_score
    dirty_sightings: list[dict[str, object]] = field(default_factory=list)


# The order every new indicator row is built in (here, and by the bulk loader in benchmarks).
INDICATOR_COLUMNS = (
    "pk",
    "id",
    "type",
    "value",
    "status",
    "status_reason",
    "base_score",
    "score",
    "confidence",
    "first_seen",
    "last_seen",
    "created_at",
    "updated_at",
    "source_count",
    "categories_mask",
    "industries_mask",
    "industries",
    "tags",
    "mitre_techniques",
    "context",
    "best_sighting",
    "best_government_sighting",
    "best_commercial_sighting",
    "best_community_sighting",
)
_SIGHTING_COLUMNS = (
    "pk",
    "indicator_pk",
    "source_id",
    "article_id",
    "first_seen",
    "last_seen",
    "raw_value",
    "context",
    "reference_url",
    "tags",
    "industries",
    "mitre_techniques",
    "created_at",
    "updated_at",
)
_CATEGORY_ORDER = tuple(BEST_SIGHTING_COLUMN)  # government, commercial, community: the column order above


def seen_span(obs: Observation, observed_at: int) -> tuple[int, int]:
    """A sighting's first and last seen: as the source dates them, never after we saw them, and
    last never before first."""
    first = obs.first_seen or observed_at
    if first > observed_at:
        first = observed_at
    last = obs.last_seen or observed_at
    if last > observed_at:
        last = observed_at
    elif last < first:
        last = first
    return first, last


_UNSET = 0  # what a key or clock slot of a prepared row holds until the writer numbers it


def _number_new(
    indicator: list[object], sighting: list[object], pk: int, sighting_pk: int, clock: int
) -> None:
    """Fill in what only the writer knows: the rows' keys and the batch clock."""
    indicator[0] = sighting[1] = pk  # indicators.pk, sightings.indicator_pk
    sighting[0] = indicator[20] = sighting_pk  # sightings.pk, best_sighting
    for slot in (21, 22, 23):  # best per category: this source's category only (the others are None)
        if indicator[slot] is not None:
            indicator[slot] = sighting_pk
    indicator[11] = indicator[12] = sighting[12] = sighting[13] = clock  # created_at, updated_at


class _NewRows:
    """The rows of a value never stored before, seen once: what `_derive` makes of a group of one
    new sighting (a test holds the two to agreeing), without building the sighting, its evidence or
    the row dict. What follows from the type, last seen, screening, tags, sectors and techniques
    (score, band, status, masks, the JSON arrays) is worked out once per combination: feeds repeat
    a few combinations a million times."""

    _LIMIT = 4_096  # combinations remembered; a memo that fills up starts again

    def __init__(self, source: SourceInfo, observed_at: int) -> None:
        self.source = source
        self.observed_at = observed_at
        self._derived: dict[tuple[object, ...], tuple[object, ...]] = {}
        self._mask = categories_mask((source.category,))
        self._best = tuple(_UNSET if name == source.category else None for name in _CATEGORY_ORDER)

    def __call__(self, obs: Observation, indicator_id: str) -> tuple[list[object], list[object]]:
        first, last = seen_span(obs, self.observed_at)
        key = (obs.type, last, obs.screened_by, obs.tags, obs.industries, obs.mitre_techniques)
        derived = self._derived.get(key)
        if derived is None:
            if len(self._derived) >= self._LIMIT:
                self._derived.clear()
            derived = self._derived[key] = self._derive(obs, last)
        status, reason, base, score, confidence, sectors, industries, tags, techniques = derived
        government, commercial, community = self._best
        indicator: list[object] = [
            _UNSET, indicator_id, obs.type, obs.value, status, reason, base, score, confidence,
            first, last, _UNSET, _UNSET, 1, self._mask, sectors, industries, tags, techniques,
            obs.context or None, _UNSET, government, commercial, community,
        ]  # fmt: skip
        sighting: list[object] = [
            _UNSET, _UNSET, self.source.id, obs.article_id, first, last, obs.raw_value, obs.context,
            obs.reference_url, tags, industries, techniques, _UNSET, _UNSET,
        ]  # fmt: skip
        return indicator, sighting

    def _derive(self, obs: Observation, last: int) -> tuple[object, ...]:
        source = self.source
        evidence = SourceEvidence(source.name, source.category, source.reliability, last)
        breakdown = score_indicator(obs.type, [evidence], self.observed_at)
        screened_by = obs.screened_by
        status = lifecycle_status("false-positive" if screened_by else "active", breakdown.score)
        return (
            status,
            screened_by or None,
            breakdown.base,
            breakdown.score,
            breakdown.confidence,
            _sectors_mask_cached(obs.industries),
            _encode_cached(obs.industries),
            _encode_cached(obs.tags),
            _encode_cached(obs.mitre_techniques),
        )


class _Plan:
    """What the general path writes for one batch, and its counts."""

    def __init__(
        self,
        batch: WriteBatch,
        source: SourceInfo,
        observed_at: int,
        granularity: int,
        next_sighting_pk: int,
        writes: _Writes,
    ) -> None:
        self.connection = batch.connection
        self.clock = batch.clock
        self.source = source
        self.observed_at = observed_at
        self.granularity = granularity
        self.next_sighting_pk = next_sighting_pk
        self.writes = writes
        self.counts = UpsertCounts()

    def add_general(
        self,
        keys: list[tuple[str, str]],
        by_key: dict[tuple[str, str], list[Observation]],
        ids: dict[tuple[str, str], str],
        existing: dict[str, dict[str, object]],
        pk_by_key: dict[tuple[str, str], int],
    ) -> None:
        """Values already stored, or listed by several articles: fold the observations into their
        sightings and re-derive each indicator from all of them."""
        source = self.source
        sightings_by_pk = _fetch_sightings(
            self.connection, [pk_by_key[k] for k in keys if ids[k] in existing]
        )
        screened: dict[int, str] = {}
        for key in keys:
            indicator_pk = pk_by_key[key]
            group = sightings_by_pk.setdefault(indicator_pk, [])
            for obs in by_key[key]:
                if obs.screened_by:
                    screened[indicator_pk] = obs.screened_by
                sighting = next(
                    (s for s in group if s.source_id == source.id and s.article_id == obs.article_id), None
                )
                first, last = seen_span(obs, self.observed_at)
                if sighting is not None:
                    _apply(sighting, obs, first, last, self.granularity)
                    continue
                group.append(
                    _Sighting(
                        pk=self.next_sighting_pk,
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
                self.next_sighting_pk += 1

        sources_by_id = load_sources(self.connection)
        sources_by_id[source.id] = source
        writes, counts, clock = self.writes, self.counts, self.clock
        for key in keys:
            indicator_pk = pk_by_key[key]
            old = existing.get(ids[key])
            status = old["status"] if old else "active"
            reason = old["status_reason"] if old else None
            if indicator_pk in screened and status != "revoked":
                status, reason = "false-positive", screened[indicator_pk]
            group = sightings_by_pk[indicator_pk]
            derived = _derive(key[0], status, reason, group, sources_by_id, self.observed_at)  # type: ignore[arg-type]
            if old is None:
                derived.update(pk=indicator_pk, id=ids[key], type=key[0], value=key[1])
                derived.update(created_at=clock, updated_at=clock)
                writes.new_indicators.append(tuple(derived[name] for name in INDICATOR_COLUMNS))
                counts.new += 1
            elif any(derived[name] != old[name] for name in _VISIBLE):
                derived.update(b_pk=indicator_pk, updated_at=clock)
                writes.changed.append(derived)
                counts.updated += 1
            else:
                counts.unchanged += 1
                if derived["score"] != old["score"] or derived["base_score"] != old["base_score"]:
                    writes.rescored.append(
                        {"b_pk": indicator_pk, "score": derived["score"], "base_score": derived["base_score"]}
                    )
            for sighting in group:
                if sighting.is_new:
                    writes.new_sightings.append(
                        (
                            sighting.pk, sighting.indicator_pk, sighting.source_id, sighting.article_id,
                            *_sighting_state(sighting), clock, clock,
                        )
                    )  # fmt: skip
                elif sighting.is_dirty:
                    writes.dirty_sightings.append({"b_pk": sighting.pk, **_sighting_row(sighting, clock)})


def _fold(seen: Observation, obs: Observation) -> None:
    """A value listed twice by one source (and article) is one sighting: widen `seen` by `obs`."""
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


_EXISTING_COLUMNS = ("pk", "id", "score", "base_score", *_VISIBLE)


def _fetch_indicators(connection: Connection, ids: list[str]) -> dict[str, dict[str, object]]:
    rows = bulk.select_where_in(connection, "indicators", _EXISTING_COLUMNS, "id", ids)
    return {row[1]: dict(zip(_EXISTING_COLUMNS, row, strict=True)) for row in rows}


_SIGHTING_READ = (
    "pk", "indicator_pk", "source_id", "article_id", "first_seen", "last_seen", "raw_value", "context",
    "reference_url", "tags", "industries", "mitre_techniques",
)  # fmt: skip


def _fetch_sightings(connection: Connection, pks: list[int]) -> dict[int, list[_Sighting]]:
    grouped: dict[int, list[_Sighting]] = {pk: [] for pk in pks}
    rows = bulk.select_where_in(connection, "sightings", _SIGHTING_READ, "indicator_pk", pks)
    rows.sort(key=lambda row: row[0])  # in pk order, as the general path has always seen them
    for (
        pk,
        indicator_pk,
        source_id,
        article_id,
        first,
        last,
        raw,
        context,
        reference,
        tags,
        sectors,
        techniques,
    ) in rows:
        grouped[indicator_pk].append(
            _Sighting(
                pk=pk,
                indicator_pk=indicator_pk,
                source_id=source_id,
                article_id=article_id,
                first_seen=first,
                last_seen=last,
                raw_value=raw,
                context=context,
                reference_url=reference,
                tags=set(decode_list(tags)),
                industries=set(decode_list(sectors)),
                mitre_techniques=set(decode_list(techniques)),
            )
        )
    return grouped


def _next_pk(connection: Connection, column) -> int:  # type: ignore[no-untyped-def]
    return (connection.execute(select(func.max(column))).scalar() or 0) + 1


def _sighting_state(sighting: _Sighting) -> tuple[object, ...]:
    """first_seen .. mitre_techniques of a sighting row, in _SIGHTING_COLUMNS order."""
    return (
        sighting.first_seen,
        sighting.last_seen,
        sighting.raw_value,
        sighting.context,
        sighting.reference_url,
        encode_list(sighting.tags),
        encode_list(sighting.industries),
        encode_list(sighting.mitre_techniques),
    )


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


def _write(connection: Connection, clock: int, writes: _Writes) -> None:
    """Everything one batch changes, in foreign-key order. (Tests replace this to crash a batch.)"""
    new_indicators = writes.new_indicators
    bulk.insert_rows(connection, "indicators", INDICATOR_COLUMNS, new_indicators)
    if new_indicators:  # numbered consecutively (upsert_prepared), so counted as a key range
        pks = [row[0] for row in new_indicators]
        count_inserted_indicators(connection, min(pks), max(pks))  # type: ignore[type-var]
    bulk.insert_rows(connection, "sightings", _SIGHTING_COLUMNS, writes.new_sightings)
    _update(connection, "sightings", writes.dirty_sightings)
    _update(connection, "indicators", writes.changed)
    _update(connection, "indicators", writes.rescored)


def _update(connection: Connection, table: str, rows: list[dict[str, object]]) -> None:
    """Rows that share their keys (every derived column, or score and base_score), by b_pk."""
    if not rows:
        return
    columns = [name for name in rows[0] if name != "b_pk"]
    values = [(*(row[name] for name in columns), row["b_pk"]) for row in rows]
    bulk.update_rows(connection, table, columns, "pk", values)


def rederive_indicators(batch: WriteBatch, pks: list[int], *, now: int) -> UpsertCounts:
    """Re-derive indicators from their sightings (after a source's reliability or category changed,
    or as time decays scores); bump updated_at only where what a client sees changed."""
    counts = UpsertCounts()
    sources_by_id = load_sources(batch.connection)
    columns = ("pk", "type", "score", "base_score", *_VISIBLE)
    for start in range(0, len(pks), _CHUNK):
        chunk = pks[start : start + _CHUNK]
        rows = [
            dict(zip(columns, row, strict=True))
            for row in bulk.select_where_in(batch.connection, "indicators", columns, "pk", chunk)
        ]
        grouped = _fetch_sightings(batch.connection, [row["pk"] for row in rows])  # type: ignore[misc]
        writes = _Writes()
        for old in rows:
            group = grouped[old["pk"]]  # type: ignore[index]
            if not group:
                counts.unchanged += 1
                continue
            derived = _derive(old["type"], old["status"], old["status_reason"], group, sources_by_id, now)  # type: ignore[arg-type]
            if any(derived[name] != old[name] for name in _VISIBLE):
                derived.update(b_pk=old["pk"], updated_at=batch.clock)
                writes.changed.append(derived)
                counts.updated += 1
            else:
                counts.unchanged += 1
                if derived["score"] != old["score"] or derived["base_score"] != old["base_score"]:
                    writes.rescored.append(
                        {"b_pk": old["pk"], "score": derived["score"], "base_score": derived["base_score"]}
                    )
        _write(batch.connection, batch.clock, writes)
    return counts
