"""Records as clients see them, and the four list formats (json, ndjson, csv, txt).

JSON arrays stored in the indicator row (industries, tags, ATT&CK) pass through as raw JSON, not
decoded and re-encoded, which keeps a 10,000-row page cheap.
"""

from __future__ import annotations

import csv
import io

import msgspec

from iocfeed.scoring import decayed_score, decayed_scorer
from iocfeed.store.feed_reads import (
    BASE_SCORE,
    CONFIDENCE,
    CONTEXT,
    FIRST_SEEN,
    ID,
    INDUSTRIES,
    LAST_SEEN,
    MITRE,
    S_ARTICLE,
    S_REFERENCE,
    S_SOURCE,
    S_TITLE,
    S_URL,
    SOURCE_COUNT,
    STATUS,
    TAGS,
    TYPE,
    UPDATED_AT,
    VALUE,
    FeedReader,
    SourceInfo,
)
from iocfeed.store.queries import IndicatorRow, SourceRef
from iocfeed.timeutil import FORMATTED_INSTANTS, format_us


class SourceOut(msgspec.Struct, omit_defaults=False):
    feed_name: str
    category: str
    origin: str
    article_id: str | None = None
    article_title: str | None = None
    article_url: str | None = None
    reference_url: str | None = None


class IndicatorOut(msgspec.Struct):
    id: str
    type: str
    value: str
    confidence: str
    score: int
    status: str
    first_seen: str
    last_seen: str
    updated_at: str
    source: SourceOut | None
    source_count: int
    industries: msgspec.Raw
    tags: msgspec.Raw
    mitre_techniques: msgspec.Raw
    context: str | None


class Meta(msgspec.Struct, omit_defaults=True):
    total: int
    limit: int
    offset: int
    generated_at: str
    next_cursor: str | None
    sync_since: str
    filters: dict[str, object]
    limit_requested: int | None = None  # present only when the limit was lowered to the tier cap


class Links(msgspec.Struct):
    self: str
    next: str | None


class ListResponse(msgspec.Struct):
    meta: Meta
    data: list[IndicatorOut]
    links: Links


class SightingOut(msgspec.Struct):
    feed_name: str
    category: str
    origin: str
    reliability: int
    first_seen: str
    last_seen: str
    raw_value: str
    context: str | None
    article_id: str | None
    article_title: str | None
    article_url: str | None
    reference_url: str | None


class ScoreOut(msgspec.Struct):
    score: int
    confidence: str
    base: float
    strongest_reliability: int
    corroboration: float
    independent_sources: int
    decay_factor: float
    age_days: float
    half_life_days: float | None
    explanation: str


_encoder = msgspec.json.Encoder()
encode_json = _encoder.encode


def source_out(ref: SourceRef | None) -> SourceOut | None:
    if ref is None:
        return None
    return SourceOut(
        ref.feed_name,
        ref.category,
        ref.origin,
        ref.article_id,
        ref.article_title,
        ref.article_url,
        ref.reference_url,
    )


def indicator_out(row: IndicatorRow, source: SourceRef | None, now: int) -> IndicatorOut:
    return IndicatorOut(
        id=row.id,
        type=row.type,
        value=row.value,
        confidence=row.confidence,
        score=decayed_score(row.type, row.base_score, row.last_seen, now),
        status=row.status,
        first_seen=format_us(row.first_seen),  # type: ignore[arg-type]
        last_seen=format_us(row.last_seen),  # type: ignore[arg-type]
        updated_at=format_us(row.updated_at),  # type: ignore[arg-type]
        source=source_out(source),
        source_count=row.source_count,
        industries=msgspec.Raw(row.industries.encode()),
        tags=msgspec.Raw(row.tags.encode()),
        mitre_techniques=msgspec.Raw(row.mitre_techniques.encode()),
        context=row.context,
    )


def records_from_rows(rows: list[tuple], feed: FeedReader, now: int) -> list[IndicatorOut]:
    """Page rows of store.feed_reads as records. The hot path of every list request (a 100-row page
    costs about as much here as in SQLite): tuple indexing, positional Struct construction, each
    source looked up once a page, instants and stored JSON arrays through their memos, whose
    lookups are inlined (`memo(x) or make(x)`: six function calls a row saved)."""
    score = decayed_scorer(now)
    instant, raw = FORMATTED_INSTANTS.get, _RAW.get
    sources: dict[int | None, SourceInfo | None] = {}
    records = []
    append = records.append
    for row in rows:
        source_id = row[S_SOURCE]
        if source_id in sources:
            info = sources[source_id]
        else:
            info = sources[source_id] = feed.source(source_id)
        first_seen, last_seen, updated_at = row[FIRST_SEEN], row[LAST_SEEN], row[UPDATED_AT]
        industries, tags, mitre = row[INDUSTRIES], row[TAGS], row[MITRE]
        append(
            IndicatorOut(
                row[ID],
                row[TYPE],
                row[VALUE],
                row[CONFIDENCE],
                score(row[TYPE], row[BASE_SCORE], last_seen),
                row[STATUS],
                instant(first_seen) or format_us(first_seen),  # type: ignore[arg-type]
                instant(last_seen) or format_us(last_seen),  # type: ignore[arg-type]
                instant(updated_at) or format_us(updated_at),  # type: ignore[arg-type]
                None
                if info is None
                else SourceOut(
                    info.name,
                    info.category,
                    info.origin,
                    row[S_ARTICLE],
                    row[S_TITLE],
                    row[S_URL],
                    row[S_REFERENCE],
                ),
                row[SOURCE_COUNT],
                raw(industries) or raw_json(industries),
                raw(tags) or raw_json(tags),
                raw(mitre) or raw_json(mitre),
                row[CONTEXT],
            )
        )
    return records


_RAW: dict[str, msgspec.Raw] = {}
_RAW_MAX = 50_000


def raw_json(text: str) -> msgspec.Raw:
    """A stored JSON array as msgspec.Raw, memoized: most rows repeat a few tag and sector sets."""
    raw = _RAW.get(text)
    if raw is None:
        if len(_RAW) >= _RAW_MAX:
            _RAW.clear()
        raw = _RAW[text] = msgspec.Raw(text.encode())
    return raw


def sighting_out(ref: SourceRef) -> SightingOut:
    return SightingOut(
        feed_name=ref.feed_name,
        category=ref.category,
        origin=ref.origin,
        reliability=ref.reliability,
        first_seen=format_us(ref.first_seen),  # type: ignore[arg-type]
        last_seen=format_us(ref.last_seen),  # type: ignore[arg-type]
        raw_value=ref.raw_value,
        context=ref.context,
        article_id=ref.article_id,
        article_title=ref.article_title,
        article_url=ref.article_url,
        reference_url=ref.reference_url,
    )


def encode_ndjson(records: list[IndicatorOut]) -> bytes:
    return b"".join(encode_json(record) + b"\n" for record in records)


CSV_COLUMNS = (
    "id",
    "type",
    "value",
    "confidence",
    "first_seen",
    "last_seen",
    "source_article",
    "source_feed",
    "category",
    "tags",
)

_decode_list = msgspec.json.Decoder(list[str]).decode


def encode_csv(records: list[IndicatorOut]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        source = record.source
        writer.writerow(
            (
                record.id,
                record.type,
                record.value,
                record.confidence,
                record.first_seen,
                record.last_seen,
                _csv_safe(source.article_title or "") if source else "",
                _csv_safe(source.feed_name) if source else "",
                source.category if source else "",
                _csv_safe(";".join(_decode_list(bytes(record.tags)))),
            )
        )
    return buffer.getvalue().encode()


def encode_txt(records: list[IndicatorOut]) -> bytes:
    return b"".join(record.value.encode() + b"\n" for record in records)


def _csv_safe(text: str) -> str:
    """Neutralise spreadsheet formulas: a cell starting with = + - @ is prefixed with a quote.

    Indicator values come from untrusted feeds, and analysts open these files in spreadsheets."""
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text
