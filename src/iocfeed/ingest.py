"""Running catalog sources: fetch, read, hand to the pipeline, remember what was fetched.

    SourceDefinition ─▶ fetch (conditional; 304 or same digest = nothing to do)
                     ─▶ reader for the format (records, or articles whose pages are fetched too)
                     ─▶ pipeline.ingest_records (under the ingest lock)
                     ─▶ record_outcome (validators, cursor, health)

A failing source never stops the others: `run_sources` catches each source's error, records it,
and goes on. A feed that suddenly shrinks to nothing marks its source degraded and changes nothing:
its indicators keep their last_seen and age out by decay, as they would had the feed stayed up.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlencode, urlsplit

import httpx
from sqlalchemy import Engine

from iocfeed.articles import ArticleInput
from iocfeed.config import Settings
from iocfeed.errors import IocfeedError
from iocfeed.pipeline import IngestResult, RecordMapping, Screening, ingest_records
from iocfeed.sources.catalog import SourceDefinition
from iocfeed.sources.content import check_content, text_stream
from iocfeed.sources.fetch import FetchPolicy, FetchResult, FetchState, fetch
from iocfeed.sources.files import read_file
from iocfeed.sources.readers.misp import event_url, manifest_url, read_manifest
from iocfeed.sources.readers.otx import read_page as read_otx_page
from iocfeed.sources.readers.taxii import MEDIA_TYPE as TAXII_MEDIA_TYPE
from iocfeed.sources.readers.taxii import ObjectsQuery, TaxiiPage, objects_url
from iocfeed.sources.records import RawArticle, RawRecord
from iocfeed.sources.urls import sanitize_url
from iocfeed.store.articles import known_article_urls
from iocfeed.store.catalog import SourceSpec, ensure_source, fetch_memory, record_outcome
from iocfeed.timeutil import format_us, now_us, parse_instant

log = logging.getLogger(__name__)

# A feed that listed at least this many rows last time and lists none now is "shrunk to nothing".
SHRINK_FLOOR = 1
MAX_ARTICLES_PER_RUN = 200  # a feed's back catalogue is read over several runs, newest first
MAX_PAGES = 1_000  # paged sources (TAXII, OTX): a bound on one run, whatever the server says
TAXII_PAGE_SIZE = 1_000


@dataclass(frozen=True, slots=True)
class Plan:
    """What a run reads: the items (lazily fetched), the fetch state to keep once they are stored,
    whether they are the source's whole listing (so that an empty one means the feed shrank), and
    the incremental position to keep for paged sources."""

    items: Iterator[RawRecord | ArticleInput]
    new_state: FetchState
    complete_listing: bool = True
    cursor: Callable[[], str | None] = lambda: None


@dataclass(frozen=True, slots=True)
class SourceOutcome:
    name: str
    status: str  # ingested | not_modified | unchanged | degraded | failed | skipped
    message: str
    result: IngestResult | None = None
    seconds: float = 0.0


def spec_for(definition: SourceDefinition) -> SourceSpec:
    return SourceSpec(
        name=definition.name,
        category=definition.category,
        reliability=definition.effective_reliability,
        origin=definition.origin,
        format=definition.format,
        url=sanitize_url(definition.url),
        schedule=f"{definition.schedule_seconds}s",
    )


def mapping_for(definition: SourceDefinition) -> RecordMapping:
    return RecordMapping(
        fixed_type=definition.type,
        type_map=definition.type_map,
        strip_port=definition.strip_port,
        tags_separator=definition.tags_separator,
        static_tags=definition.static_tags,
        industries=definition.industries,
    )


class Ingestor:
    """Runs sources one at a time; safe to use from several threads (each run holds the ingest lock
    only while it writes)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        environ: Mapping[str, str],
        *,
        screener: Screening | None = None,
        policy: FetchPolicy | None = None,
        client: httpx.Client | None = None,
        on_progress: Callable[[str, int], None] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.environ = environ
        self.screener = screener
        self.policy = policy or FetchPolicy()
        self.client = client
        self.on_progress = on_progress

    def run(self, definition: SourceDefinition) -> SourceOutcome:
        started = time.monotonic()
        try:
            outcome = self._run(definition)
        except IocfeedError as exc:
            outcome = self._failed(definition, exc.message)
        except Exception as exc:  # a bug in one source's handling must not stop the others
            log.exception("%s: unexpected error", definition.name)
            outcome = self._failed(definition, f"{type(exc).__name__}: {exc}")
        seconds = time.monotonic() - started
        return SourceOutcome(outcome.name, outcome.status, outcome.message, outcome.result, seconds)

    def _failed(self, definition: SourceDefinition, message: str) -> SourceOutcome:
        log.error("%s: %s", definition.name, message)
        source, _ = ensure_source(self.engine, spec_for(definition))
        record_outcome(self.engine, source.id, status="failed", error=message, keep_validators=True)
        return SourceOutcome(definition.name, "failed", message)

    def _run(self, definition: SourceDefinition) -> SourceOutcome:
        missing = definition.missing_auth(self.environ)
        if missing:
            return SourceOutcome(definition.name, "skipped", missing)
        source, _ = ensure_source(self.engine, spec_for(definition))
        with self.engine.connect() as connection:
            memory = fetch_memory(connection, source.id)
        state = FetchState(memory.etag, memory.last_modified, memory.content_digest)
        with tempfile.TemporaryDirectory(prefix="iocfeed-fetch-") as work:
            plan = self._plan(definition, state, memory.cursor, source.id, Path(work))
            if isinstance(plan, str):  # 304, or the same bytes as last time
                record_outcome(self.engine, source.id, status=plan, keep_validators=True)
                return SourceOutcome(definition.name, plan, "nothing new")
            result = ingest_records(
                self.engine,
                self.settings,
                spec_for(definition),
                plan.items,
                mapping_for(definition),
                kind="ingest",
                screener=self.screener,
                on_progress=(lambda n: self.on_progress(definition.name, n)) if self.on_progress else None,
                record_health=False,
            )
        if result.error:
            record_outcome(self.engine, source.id, status="failed", error=result.error, keep_validators=True)
            return SourceOutcome(definition.name, "failed", result.error, result)
        listed = result.accepted + result.rejected + result.skipped + result.articles
        if listed == 0 and plan.complete_listing and (memory.last_accepted or 0) >= SHRINK_FLOOR:
            message = (
                f"the feed listed nothing (it listed {memory.last_accepted} last time); nothing was changed"
            )
            record_outcome(self.engine, source.id, status="degraded", error=message, keep_validators=True)
            return SourceOutcome(definition.name, "degraded", message, result)
        record_outcome(
            self.engine,
            source.id,
            status="ingested",
            etag=plan.new_state.etag,
            last_modified=plan.new_state.last_modified,
            content_digest=plan.new_state.content_digest,
            cursor=plan.cursor(),
            accepted=result.accepted,
        )
        counts = result.counts
        message = (
            f"{counts.new} new, {counts.updated} updated, {counts.unchanged} unchanged, "
            f"{result.rejected} rejected" + (f", {result.articles} articles" if result.articles else "")
        )
        return SourceOutcome(definition.name, "ingested", message, result)

    def _plan(
        self,
        definition: SourceDefinition,
        state: FetchState,
        cursor: str | None,
        source_id: int,
        work_dir: Path,
    ) -> Plan | str:
        """What to read for this run, or the status that says there is nothing to read."""
        if definition.format == "misp-feed":
            return self._misp_feed(definition, cursor, work_dir)
        if definition.format == "taxii":
            return self._taxii(definition, cursor, work_dir)
        if definition.format == "otx":
            return self._otx(definition, cursor, work_dir)
        fetched = self._get(definition, definition.url, state, work_dir)
        if fetched.status != "fetched":
            return fetched.status
        assert fetched.path is not None
        if definition.format != "rss":
            check_content(fetched.path, definition.format, fetched.content_type, url=fetched.url)
        return Plan(
            self._items(definition, fetched, source_id, work_dir), fetched.new_state, complete_listing=True
        )

    # -- fetching ---------------------------------------------------------------------------------

    def _headers(self, definition: SourceDefinition) -> dict[str, str]:
        value = definition.auth_value(self.environ)
        if value and definition.auth_header:
            return {definition.auth_header: value}
        return {}

    def _get(
        self,
        definition: SourceDefinition,
        url: str,
        state: FetchState | None,
        work_dir: Path,
        accept: str | None = None,
    ) -> FetchResult:
        if url.startswith("file://"):
            return _local_file(Path(unquote(urlsplit(url).path)), state)
        headers = self._headers(definition)
        if accept:
            headers["Accept"] = accept
        return fetch(
            url,
            state,
            self.policy,
            dest_dir=work_dir,
            headers=headers,
            client=self.client,
            zip_member=definition.zip_member,
        )

    def _items(
        self, definition: SourceDefinition, fetched: FetchResult, source_id: int, work_dir: Path
    ) -> Iterator[RawRecord | ArticleInput]:
        assert fetched.path is not None
        items = read_file(fetched.path, definition.format, definition.reader, encoding=fetched.encoding)
        if definition.format != "rss":
            yield from items  # type: ignore[misc]
            return
        with self.engine.connect() as connection:
            known = known_article_urls(connection, source_id)
        taken = 0
        for item in items:
            if not isinstance(item, RawArticle) or item.url in known or taken >= MAX_ARTICLES_PER_RUN:
                continue
            taken += 1
            yield ArticleInput(item, self._page(definition, item, work_dir))

    def _page(self, definition: SourceDefinition, article: RawArticle, work_dir: Path) -> str | None:
        if not (definition.reader.fetch_pages or article.fetch_page) or not article.url.startswith("http"):
            return None
        try:
            page = self._get(definition, article.url, None, work_dir)
        except IocfeedError as exc:  # one unreachable page costs that page's indicators, not the run
            log.warning("%s: article page %s: %s", definition.name, sanitize_url(article.url), exc.message)
            return None
        if page.path is None:
            return None
        try:
            return page.path.read_text(encoding=page.encoding or "utf-8", errors="replace")
        finally:
            page.path.unlink(missing_ok=True)

    def _misp_feed(self, definition: SourceDefinition, cursor: str | None, work_dir: Path) -> Plan:
        """manifest.json lists events with their timestamps; fetch those newer than the cursor."""
        manifest = self._get(definition, manifest_url(definition.url), None, work_dir)
        assert manifest.path is not None
        with manifest.path.open("rb") as stream:
            entries = list(read_manifest(stream))
        since = int(cursor or 0)
        fresh = sorted((e for e in entries if (e.timestamp or 0) > since), key=lambda e: e.timestamp or 0)
        newest = str(max((e.timestamp or 0 for e in fresh), default=since))

        def events() -> Iterator[RawRecord]:
            for entry in fresh:
                event = self._get(definition, event_url(definition.url, entry.uuid), None, work_dir)
                if event.path is None:
                    continue
                try:
                    yield from read_file(event.path, "misp", definition.reader)  # type: ignore[misc]
                finally:
                    event.path.unlink(missing_ok=True)

        # The manifest lists every event, so an empty one is a feed that shrank to nothing.
        return Plan(events(), FetchState(), complete_listing=not entries, cursor=lambda: newest)

    def _taxii(self, definition: SourceDefinition, cursor: str | None, work_dir: Path) -> Plan:
        """Page the collection's objects from the last run's high-water mark (X-TAXII-Date-Added-Last)."""
        high_water = {"value": cursor}

        def records() -> Iterator[RawRecord]:
            query: ObjectsQuery | None = ObjectsQuery(added_after=cursor, limit=TAXII_PAGE_SIZE)
            for _ in range(MAX_PAGES):
                if query is None:
                    return
                page_file = self._get(
                    definition, objects_url(definition.url, query), None, work_dir, accept=TAXII_MEDIA_TYPE
                )
                if page_file.path is None:
                    return
                try:
                    with page_file.path.open("rb") as stream:
                        page = TaxiiPage(stream)
                        yield from page
                    last = page_file.headers.get("x-taxii-date-added-last")
                    if last and (high_water["value"] is None or _later(last, high_water["value"])):
                        high_water["value"] = last
                    query = page.following(query, last)
                finally:
                    page_file.path.unlink(missing_ok=True)

        return Plan(records(), FetchState(), complete_listing=False, cursor=lambda: high_water["value"])

    def _otx(self, definition: SourceDefinition, cursor: str | None, work_dir: Path) -> Plan:
        """Subscribed pulses modified since the last run, following `next` page links."""
        started = format_us(now_us())
        first = definition.url
        if cursor:
            first += ("&" if "?" in first else "?") + urlencode({"modified_since": cursor})

        def records() -> Iterator[RawRecord]:
            url: str | None = first
            for _ in range(MAX_PAGES):
                if not url:
                    return
                page_file = self._get(definition, url, None, work_dir)
                if page_file.path is None:
                    return
                try:
                    with text_stream(page_file) as stream:
                        page = read_otx_page(stream)
                finally:
                    page_file.path.unlink(missing_ok=True)
                yield from page.records
                url = page.next

        return Plan(records(), FetchState(), complete_listing=False, cursor=lambda: started)


def _later(a: str, b: str) -> bool:
    try:
        return parse_instant(a) > parse_instant(b)
    except ValueError:
        return a > b


def _local_file(path: Path, state: FetchState | None) -> FetchResult:
    """A file:// source behaves like an HTTP one: the same digest means nothing to do."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise IocfeedError(f"cannot read {path}: {exc.strerror or exc}") from exc
    new_state = FetchState(content_digest=digest.hexdigest())
    unchanged = state is not None and state.content_digest == new_state.content_digest
    return FetchResult(
        status="unchanged" if unchanged else "fetched",
        path=None if unchanged else path,
        new_state=new_state,
        content_type=None,
        encoding=None,
        bytes_read=path.stat().st_size,
        url=path.as_uri(),
        size=path.stat().st_size,
    )


def run_sources(ingestor: Ingestor, definitions: list[SourceDefinition]) -> list[SourceOutcome]:
    """Each source in turn; one failing never stops the others."""
    return [ingestor.run(definition) for definition in definitions]
