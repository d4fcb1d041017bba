"""Runs records from one source through the stages: canonicalize, enrich, store; records the run.

    raw records ─▶ to_observation (type, refang, canonical value, dates, tags, sectors)
                ─▶ batches of Settings.batch_size ─▶ store.upsert in one write transaction each

A row that cannot become an indicator is rejected with its location and the reason, and the rest
goes on. A failure inside a batch rolls that batch back whole; batches already committed stay, and
the run is recorded as failed with the error.

Speed: the database's work on a batch (index maintenance, mostly, done in C with the GIL released)
runs on a writer thread while this thread reads and canonicalizes what comes next (`_BatchWriter`);
batches are still written one at a time, in order, each in its own transaction. A batch is handed
over in chunks of at most PREPARE_CHUNK rows, so the rows waiting in Python stay few however large
a batch (a transaction) is. Feeds repeat their type names, dates, tags and sectors endlessly, so
`RecordConverter` remembers what each spelling became.
"""

from __future__ import annotations

import gc
import logging
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Engine

from iocfeed.articles import ArticleInput, extract_article
from iocfeed.config import Settings
from iocfeed.errors import InvalidIndicator, IocfeedError
from iocfeed.indicators import canonicalize, canonicalize_any
from iocfeed.indicators.types import IndicatorType, parse_type
from iocfeed.sectors import normalize_sector
from iocfeed.sources.records import RawRecord
from iocfeed.store.articles import upsert_article
from iocfeed.store.catalog import (
    RunTotals,
    SourceSpec,
    ensure_source,
    finish_run,
    record_outcome,
    source_indicator_pks,
    start_run,
)
from iocfeed.store.engine import bulk_writes
from iocfeed.store.lock import ingest_lock
from iocfeed.store.upsert import (
    Observation,
    PreparedBatch,
    SourceInfo,
    UpsertCounts,
    prepare_observations,
    rederive_indicators,
    upsert_prepared,
)
from iocfeed.store.writer import WriteBatch, write_batch
from iocfeed.timeutil import MICROS_PER_SECOND, now_us, parse_instant

log = logging.getLogger(__name__)

MAX_KEPT_REJECTIONS = 1_000  # all are counted; this many are kept for the report
MAX_LOGGED_REJECTIONS = 100
MAX_TAGS = 32
MAX_TAG_LENGTH = 64
MAX_CONTEXT_LENGTH = 1_000
WRITER_SWITCH_INTERVAL = 0.002  # seconds; see _BatchWriter
# Allocations between young collections while a writer runs (Python's default: 700). A run keeps a
# few chunks of rows alive, so each collection walked tens of thousands of live objects, over and
# over: a million-row ingest took 38.0 s at the default and 28.5 s at this (SQLite, measured).
WRITER_GC_YOUNG_THRESHOLD = 200_000
PREPARE_CHUNK = 10_000  # rows prepared and handed to the writer at once (see the module doc)


@dataclass(frozen=True, slots=True)
class RecordMapping:
    """Per-source rules that turn a raw record into an observation."""

    fixed_type: IndicatorType | None = None  # every row is this type
    type_map: Mapping[str, str] = field(default_factory=dict)  # the source's type names -> ours
    strip_port: bool = False  # "1.2.3.4:443" -> "1.2.3.4"
    tags_separator: str = ","
    static_tags: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()  # sector slugs applied to every row
    time_shift_us: int = 0  # added to every date the source gives (the demo data uses it)


@dataclass(frozen=True, slots=True)
class Rejection:
    location: str
    value: str
    reason: str


@dataclass(slots=True)
class IngestResult:
    source: str
    run_id: int
    source_id: int
    parsed: int = 0
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0  # rows the source marks as not for detection, or of types iocfeed does not keep
    articles: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    error: str | None = None


def to_observation(record: RawRecord, mapping: RecordMapping) -> Observation:
    """One raw record as an observation, or InvalidIndicator with the reason."""
    if record.error:
        raise InvalidIndicator(record.error)
    if not isinstance(record.value, str):
        raise InvalidIndicator(f"the value is {type(record.value).__name__}, not text")
    raw_value = record.value.strip()
    if not raw_value:
        raise InvalidIndicator("empty value")
    hint = mapping.fixed_type or _type_hint(record.type, mapping.type_map)
    value = _strip_port(raw_value) if mapping.strip_port else raw_value
    canonical = canonicalize_any(value, hint)
    return Observation(
        type=canonical.type.value,
        value=canonical.value,
        raw_value=raw_value[:2048],
        first_seen=_instant(record.first_seen, "first_seen", mapping.time_shift_us),
        last_seen=_instant(record.last_seen, "last_seen", mapping.time_shift_us),
        tags=_tags(record.tags, mapping),
        industries=_industries(record.industries, mapping.industries),
        context=_text(record.context, MAX_CONTEXT_LENGTH),
        reference_url=_text(record.reference_url, 2048),
        mitre_techniques=_techniques(record.mitre_techniques),
    )


_CACHE_LIMIT = 4_096  # spellings remembered per field; a cache that fills up starts again


_Answer = TypeVar("_Answer")


class _Memo(dict[Any, _Answer], Generic[_Answer]):
    """What `compute` makes of each spelling, worked out once: a repeat is one dict lookup (the
    miss goes through __missing__). A spelling `compute` rejects raises and is not kept."""

    __slots__ = ("_compute",)

    def __init__(self, compute: Callable[[Any], _Answer]) -> None:
        super().__init__()
        self._compute = compute

    def __missing__(self, raw: Any) -> _Answer:
        found = self._compute(raw)
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        self[raw] = found
        return found

    def of(self, raw: Any) -> _Answer:
        """The answer for `raw`, a list (not hashable: worked out each time) included."""
        try:
            return self[raw]
        except TypeError:
            return self._compute(raw)


class RecordConverter:
    """`to_observation` for one run, remembering what each spelling of a type name, date, tag list,
    sector list, technique list and context became (the same answers, without working them out
    again). Values are not remembered: the canonicalizers keep their own caches where it pays."""

    def __init__(self, mapping: RecordMapping) -> None:
        self.mapping = mapping
        shift = mapping.time_shift_us
        self._hints = _Memo(lambda name: _type_hint(name, mapping.type_map))
        self._first_seen = _Memo(lambda text: _instant(text, "first_seen", shift))
        self._last_seen = _Memo(lambda text: _instant(text, "last_seen", shift))
        self._tags = _Memo(lambda raw: _tags(raw, mapping))
        self._industries = _Memo(lambda raw: _industries(raw, mapping.industries))
        self._techniques = _Memo(_techniques)
        self._contexts = _Memo(lambda raw: _text(raw, MAX_CONTEXT_LENGTH))

    def __call__(self, record: RawRecord) -> Observation:
        if record.error:
            raise InvalidIndicator(record.error)
        if not isinstance(record.value, str):
            raise InvalidIndicator(f"the value is {type(record.value).__name__}, not text")
        raw_value = record.value.strip()
        if not raw_value:
            raise InvalidIndicator("empty value")
        mapping = self.mapping
        hint = mapping.fixed_type or self._hints.of(record.type)
        value = _strip_port(raw_value) if mapping.strip_port else raw_value
        canonical = canonicalize_any(value, hint)
        # Positional, in Observation's field order: this runs for every row.
        return Observation(
            canonical.type._value_,  # the member's value without the enum descriptor's detour
            canonical.value,
            raw_value[:2048],
            self._first_seen.of(record.first_seen),
            self._last_seen.of(record.last_seen),
            self._tags.of(record.tags),
            self._industries.of(record.industries),
            self._techniques.of(record.mitre_techniques),
            self._contexts.of(record.context),
            _text(record.reference_url, 2048),
        )


class Screening(Protocol):
    """What the pipeline needs of a screener (iocfeed.indicators.screen.Screener)."""

    def screen(self, type_: str, value: str) -> ScreenVerdict | None: ...


class ScreenVerdict(Protocol):
    list_name: str


def ingest_records(
    engine: Engine,
    settings: Settings,
    spec: SourceSpec,
    items: Iterable[RawRecord | ArticleInput],
    mapping: RecordMapping,
    *,
    kind: str = "import",
    screener: Screening | None = None,
    on_progress: Callable[[int], None] | None = None,
    take_lock: bool = True,
    record_health: bool = True,
) -> IngestResult:
    """Store what `items` say as sightings of `spec`'s source; returns the counts and rejections.

    Holds the ingest lock for the run (store.lock) unless the caller already does (take_lock=False).
    With record_health the source's health follows the run; a fetching caller records it itself,
    together with what it fetched.
    """
    with ingest_lock(engine) if take_lock else nullcontext(), bulk_writes(engine):
        result = _ingest(engine, settings, spec, items, mapping, kind, screener, on_progress)
    if record_health:
        record_outcome(
            engine,
            result.source_id,
            status="failed" if result.error else "ingested",
            accepted=result.accepted,
            error=result.error,
            keep_validators=True,
        )
    return result


def _ingest(
    engine: Engine,
    settings: Settings,
    spec: SourceSpec,
    items: Iterable[RawRecord | ArticleInput],
    mapping: RecordMapping,
    kind: str,
    screener: Screening | None,
    on_progress: Callable[[int], None] | None,
) -> IngestResult:
    source, declaration_changed = ensure_source(engine, spec)
    run_id = start_run(engine, source.id, kind)
    result = IngestResult(source=source.name, run_id=run_id, source_id=source.id)
    observed_at = now_us()
    granularity = settings.last_seen_granularity_seconds * MICROS_PER_SECOND
    convert = RecordConverter(mapping)
    screen = screener.screen if screener is not None else None
    pending: list[Observation] = []
    batch_size = settings.batch_size
    chunk_size = min(batch_size, PREPARE_CHUNK)
    in_batch = 0  # rows handed over since the current batch began

    def add(observation: Observation) -> None:
        if screen is not None:
            verdict = screen(observation.type, observation.value)
            if verdict is not None:
                observation.screened_by = verdict.list_name
        pending.append(observation)
        result.accepted += 1

    writer = _BatchWriter(engine, source, observed_at, granularity, result)
    try:
        try:
            if declaration_changed:
                _rederive_source(engine, source.id, observed_at)
            for item in items:
                if isinstance(item, ArticleInput):
                    if in_batch or pending:
                        # The article row is written from this thread, in a transaction of its
                        # own: the writer must not hold a batch open waiting for more rows.
                        writer.submit(pending, ends_batch=True)
                        pending, in_batch = [], 0
                    found = _add_article(engine, source.id, item, mapping, add)
                    result.articles += 1
                    result.parsed += found
                elif item.skipped:  # the source says this row is not for detection (MISP to_ids, ...)
                    result.parsed += 1
                    result.skipped += 1
                else:
                    result.parsed += 1
                    try:
                        add(convert(item))
                    except InvalidIndicator as exc:
                        _reject(result, item, exc.reason)
                if len(pending) >= chunk_size:
                    in_batch += len(pending)
                    ends_batch = in_batch >= batch_size
                    writer.submit(pending, ends_batch=ends_batch)
                    pending = []
                    if ends_batch:
                        in_batch = 0
                    if on_progress:
                        on_progress(result.parsed)
            if pending:
                writer.submit(pending, ends_batch=True)
        finally:
            writer.close()  # waits for the batch being written; raises what a batch raised
        if on_progress:
            on_progress(result.parsed)
    except IocfeedError as exc:
        result.error = exc.message
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        finish_run(engine, run_id, source.id, _totals(result), result.error)
        raise
    finish_run(engine, run_id, source.id, _totals(result), result.error)
    return result


class _WriterInterpreterSettings:
    """While at least one batch writer runs: the thread switch interval at WRITER_SWITCH_INTERVAL
    and the collector's young generation at WRITER_GC_YOUNG_THRESHOLD; the previous values after.
    (Both are process-wide, and the scheduler runs sources on several threads: hence the count.)"""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._writers = 0
        self._saved_interval = 0.0
        self._saved_threshold: tuple[int, ...] = ()

    def apply(self) -> None:
        with self._lock:
            if self._writers == 0:
                self._saved_interval = sys.getswitchinterval()
                sys.setswitchinterval(min(self._saved_interval, WRITER_SWITCH_INTERVAL))
                self._saved_threshold = gc.get_threshold()
                young, *older = self._saved_threshold
                if young:  # 0: the collector is off, and stays off
                    gc.set_threshold(max(young, WRITER_GC_YOUNG_THRESHOLD), *older)
            self._writers += 1

    def restore(self) -> None:
        with self._lock:
            self._writers -= 1
            if self._writers == 0:
                sys.setswitchinterval(self._saved_interval)
                gc.set_threshold(*self._saved_threshold)


_interpreter = _WriterInterpreterSettings()


class _BatchWriter:
    """Writes batches in order, one transaction each, on a thread of its own, so that the next
    rows are read and canonicalized while the database works on these. A batch arrives in chunks
    (`submit`; the last one ends it); at most one chunk waits while another is written, so memory
    stays bounded however large a batch is.

    A batch that fails stops the writing: its transaction rolls back whole, `submit` or `close`
    raises its exception, nothing after it is written, and the run's counts are put back to what
    they were when its first chunk was handed over, as if reading had stopped there.

    `close` commits a batch still open (reading ended early, with an error): its chunks were
    complete in themselves, as every committed batch is.

    While the writer runs, the interpreter's thread switch interval is WRITER_SWITCH_INTERVAL
    instead of 5 ms: the writer spends its time in SQLite or libpq with the GIL released, and
    after each statement it waits for the reading thread (pure Python) to give the GIL back; with
    the default interval that wait made the writer the slower side. Shorter is not better
    either: each switch costs both threads time. A million-row SQLite ingest (CPU seconds of the
    reading / writing thread, then wall time): 0.5 ms 39.7 / 39.7 s, 59.8 s; 2 ms 32.5-35.2 /
    33.0-36.1 s, 49.0-53.3 s; 5 ms 34.9 / 35.8 s, 55.7 s, the reader waiting 6.5 s for the writer. The
    garbage collector runs less often meanwhile (WRITER_GC_YOUNG_THRESHOLD).
    """

    _DONE = None

    def __init__(
        self, engine: Engine, source: SourceInfo, observed_at: int, granularity: int, result: IngestResult
    ) -> None:
        self._engine = engine
        self._source = source
        self._observed_at = observed_at
        self._granularity = granularity
        self._result = result
        self._queue: queue.Queue[tuple[PreparedBatch, _Tally, bool] | None] = queue.Queue(maxsize=1)
        self._failure: tuple[BaseException, _Tally] | None = None
        self._reported = False
        self._thread: threading.Thread | None = None
        self._open: _OpenBatch | None = None  # the writer thread's own

    def submit(self, observations: list[Observation], *, ends_batch: bool) -> None:
        """Hand a chunk over (merged, keyed and its new rows built here, on the reading thread)."""
        self._raise_failure()
        tally = _Tally.of(self._result)
        prepared = prepare_observations(self._source, observations, observed_at=self._observed_at)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="iocfeed-batch-writer", daemon=True)
            _interpreter.apply()
            self._thread.start()
        self._queue.put((prepared, tally, ends_batch))
        self._raise_failure()

    def close(self) -> None:
        """Wait for the chunks handed over; raise what one of them raised (once)."""
        if self._thread is not None:
            self._queue.put(self._DONE)
            self._thread.join()
            self._thread = None
            _interpreter.restore()
        self._raise_failure()

    def _raise_failure(self) -> None:
        if self._failure is not None and not self._reported:
            self._reported = True
            error, tally = self._failure
            tally.restore(self._result)
            raise error

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                if self._open is not None and self._failure is None:
                    try:
                        self._end_batch()
                    except BaseException as exc:
                        self._fail(exc, None)
                return
            if self._failure is not None:
                continue  # drain: nothing after a failed batch is written
            prepared, tally, ends_batch = item
            try:
                if self._open is None:
                    self._open = _OpenBatch.begin(self._engine, tally)
                counts = upsert_prepared(self._open.batch, prepared, last_seen_granularity=self._granularity)
                self._open.counts.add(counts)
                if ends_batch:
                    self._end_batch()
            except BaseException as exc:
                self._fail(exc, tally)

    def _fail(self, error: BaseException, tally: _Tally | None) -> None:
        """Roll the open batch back and hand `error` to the reading thread, which raises it with
        the counts as they were when the batch began (or, with none open, when `tally` was taken)."""
        opened, self._open = self._open, None
        if opened is not None:
            opened.roll_back(error)  # a no-op when it was the commit that failed
            tally = opened.tally
        assert tally is not None
        self._failure = (error, tally)

    def _end_batch(self) -> None:
        opened = self._open
        assert opened is not None
        opened.commit()
        self._open = None
        self._result.counts.add(opened.counts)


class _OpenBatch:
    """A write transaction (store.writer.write_batch) kept open across the chunks of one batch."""

    def __init__(self, stack: ExitStack, batch: WriteBatch, tally: _Tally) -> None:
        self._stack = stack
        self.batch = batch
        self.tally = tally  # the run's counts when the batch's first chunk was handed over
        self.counts = UpsertCounts()

    @classmethod
    def begin(cls, engine: Engine, tally: _Tally) -> _OpenBatch:
        stack = ExitStack()
        batch = stack.enter_context(write_batch(engine))
        return cls(stack, batch, tally)

    def commit(self) -> None:
        self._stack.close()

    def roll_back(self, error: BaseException) -> None:
        self._stack.__exit__(type(error), error, error.__traceback__)


@dataclass(frozen=True, slots=True)
class _Tally:
    """The run's counts at one moment."""

    parsed: int
    accepted: int
    rejected: int
    skipped: int
    articles: int
    kept_rejections: int

    @classmethod
    def of(cls, result: IngestResult) -> _Tally:
        return cls(
            result.parsed,
            result.accepted,
            result.rejected,
            result.skipped,
            result.articles,
            len(result.rejections),
        )

    def restore(self, result: IngestResult) -> None:
        result.parsed, result.accepted, result.rejected = self.parsed, self.accepted, self.rejected
        result.skipped, result.articles = self.skipped, self.articles
        del result.rejections[self.kept_rejections :]


def _add_article(
    engine: Engine,
    source_id: int,
    item: ArticleInput,
    mapping: RecordMapping,
    add: Callable[[Observation], None],
) -> int:
    """Store the article row, then hand its indicators on; returns how many it had."""
    extraction = extract_article(item, extra_tags=mapping.static_tags, fixed_sectors=mapping.industries)
    article_id = upsert_article(
        engine,
        source_id=source_id,
        title=extraction.title,
        url=extraction.url,
        published_at=extraction.published_at,
        sectors=extraction.sectors,
        mitre_techniques=extraction.techniques,
    )
    for observation in extraction.observations:
        observation.article_id = article_id
        add(observation)
    return len(extraction.observations)


def _totals(result: IngestResult) -> RunTotals:
    return RunTotals(result.parsed, result.accepted, result.rejected, result.counts)


def _reject(result: IngestResult, record: RawRecord, reason: str) -> None:
    result.rejected += 1
    shown = record.value if isinstance(record.value, str) else repr(record.value)
    rejection = Rejection(record.location, shown[:200], reason)
    if len(result.rejections) < MAX_KEPT_REJECTIONS:
        result.rejections.append(rejection)
    if result.rejected <= MAX_LOGGED_REJECTIONS:
        log.warning("%s: %s: rejected %r: %s", result.source, record.location, rejection.value, reason)
    elif result.rejected == MAX_LOGGED_REJECTIONS + 1:
        log.warning("%s: more rejected rows; only the count is reported from here", result.source)


def _rederive_source(engine: Engine, source_id: int, now: int) -> None:
    """A source's category or reliability changed: its indicators' scores and sources follow."""
    with engine.connect() as connection:
        pks = source_indicator_pks(connection, source_id)
    for start in range(0, len(pks), 5_000):
        with write_batch(engine) as batch:
            rederive_indicators(batch, pks[start : start + 5_000], now=now)


def _type_hint(name: str | None, type_map: Mapping[str, str]) -> IndicatorType | None:
    if not name or not name.strip():
        return None
    mapped = type_map.get(name.strip(), name)
    hint = parse_type(mapped)
    if hint is None:
        raise InvalidIndicator(f"unknown type {name.strip()!r}")
    return hint


def _strip_port(value: str) -> str:
    if value.startswith("[") and "]:" in value:  # [2001:db8::1]:443
        return value[1 : value.index("]:")]
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit() and host.count(":") == 0:
        return host
    return value


def _instant(text: str | None, name: str, shift: int) -> int | None:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return parse_instant(text) + shift
    except ValueError as exc:
        raise InvalidIndicator(f"bad {name}: {exc}") from None


# What feeds write when they mean "nothing here".
_PLACEHOLDERS = frozenset({"", "-", "n/a", "na", "none", "null", "unknown"})


def _text(raw: object, limit: int) -> str | None:
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    return None if text.lower() in _PLACEHOLDERS else text[:limit]


def _techniques(raw: str | list[str] | None) -> tuple[str, ...]:
    # ATT&CK ids a source attaches: canonical and known, or dropped (they annotate, they are not the value).
    found = set()
    for item in _split(raw, ","):
        try:
            found.add(canonicalize(IndicatorType.MITRE_ATTACK, item))
        except InvalidIndicator:
            continue
    return tuple(sorted(found))


def _split(raw: str | list[str] | None, separator: str) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, list):
        return [item for item in raw if isinstance(item, str)]
    if not isinstance(raw, str):
        return []
    separators = {separator, ";"} if separator == "," else {separator}
    parts = [raw]
    for sep in separators:
        parts = [piece for part in parts for piece in part.split(sep)]
    return parts


def _tags(raw: str | list[str] | None, mapping: RecordMapping) -> tuple[str, ...]:
    tags = {tag.strip().lower()[:MAX_TAG_LENGTH] for tag in _split(raw, mapping.tags_separator)}
    tags.update(mapping.static_tags)
    tags -= _PLACEHOLDERS
    return tuple(sorted(tags)[:MAX_TAGS])


def _industries(raw: str | list[str] | None, fixed: tuple[str, ...]) -> tuple[str, ...]:
    # A sector name we do not know is dropped rather than costing the indicator.
    found = {normalize_sector(name) for name in _split(raw, ",")}
    found.discard(None)
    return tuple(sorted({*fixed, *found}))  # type: ignore[arg-type]
