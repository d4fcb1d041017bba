"""Sources (the feeds and publishers indicators come from) and the record of every ingest run."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, insert, select, update

from iocfeed.store.schema import ingest_runs, sightings, sources
from iocfeed.store.transactions import write_transaction
from iocfeed.store.upsert import SourceInfo, UpsertCounts
from iocfeed.timeutil import now_us


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """How a source is declared (import options today, the catalog file later)."""

    name: str
    category: str
    reliability: int
    origin: str = "feed"
    format: str | None = None
    url: str | None = None
    schedule: str | None = None


@dataclass(frozen=True, slots=True)
class SourceStatus:
    id: int
    name: str
    category: str
    origin: str
    reliability: int
    format: str | None
    url: str | None
    enabled: bool
    last_run_at: int | None
    last_success_at: int | None
    health: str
    indicator_count: int
    last_error: str | None


@dataclass(slots=True)
class RunTotals:
    parsed: int = 0
    accepted: int = 0
    rejected: int = 0
    counts: UpsertCounts | None = None


def ensure_source(engine: Engine, spec: SourceSpec) -> tuple[SourceInfo, bool]:
    """Create the source or bring its declaration up to date.

    Returns the source and whether its category or reliability changed (its indicators then need
    re-deriving, since both feed into their scores and `source` objects).
    """
    with write_transaction(engine) as connection:
        row = connection.execute(select(sources).where(sources.c.name == spec.name)).first()
        values = {
            "category": spec.category,
            "origin": spec.origin,
            "reliability": spec.reliability,
            "format": spec.format,
            "url": spec.url,
            "schedule": spec.schedule,
        }
        if row is None:
            source_id = connection.execute(
                insert(sources).values(name=spec.name, created_at=now_us(), **values).returning(sources.c.id)
            ).scalar_one()
            return SourceInfo(source_id, spec.name, spec.category, spec.reliability), False
        changed = row.category != spec.category or row.reliability != spec.reliability
        keep = {k: v for k, v in values.items() if v is not None}
        connection.execute(update(sources).where(sources.c.id == row.id).values(**keep))
        return SourceInfo(row.id, spec.name, spec.category, spec.reliability), changed


def list_sources(connection: Connection) -> list[SourceStatus]:
    columns = [sources.c[name] for name in SourceStatus.__slots__]
    rows = connection.execute(select(*columns).order_by(sources.c.name))
    return [SourceStatus(*row) for row in rows]


def source_indicator_pks(connection: Connection, source_id: int) -> list[int]:
    rows = connection.execute(
        select(sightings.c.indicator_pk).where(sightings.c.source_id == source_id).distinct()
    )
    return [row[0] for row in rows]


def start_run(engine: Engine, source_id: int | None, kind: str) -> int:
    with write_transaction(engine) as connection:
        return connection.execute(
            insert(ingest_runs)
            .values(source_id=source_id, kind=kind, started_at=now_us(), status="running")
            .returning(ingest_runs.c.id)
        ).scalar_one()


def finish_run(
    engine: Engine, run_id: int, source_id: int | None, totals: RunTotals, error: str | None
) -> None:
    """Close the run record and update the source's indicator count (health: record_outcome)."""
    now = now_us()
    counts = totals.counts or UpsertCounts()
    status = "failed" if error else "success"
    with write_transaction(engine) as connection:
        connection.execute(
            update(ingest_runs)
            .where(ingest_runs.c.id == run_id)
            .values(
                finished_at=now,
                status=status,
                parsed=totals.parsed,
                accepted=totals.accepted,
                rejected=totals.rejected,
                new=counts.new,
                updated=counts.updated,
                unchanged=counts.unchanged,
                error=error,
            )
        )
        if source_id is None:
            return
        indicator_count = connection.execute(
            select(func.count(sightings.c.indicator_pk.distinct())).where(sightings.c.source_id == source_id)
        ).scalar_one()
        connection.execute(
            update(sources)
            .where(sources.c.id == source_id)
            .values(last_run_at=now, indicator_count=indicator_count)
        )


@dataclass(frozen=True, slots=True)
class FetchMemory:
    """What a source's last run left for the next one (see schema.sources)."""

    etag: str | None
    last_modified: str | None
    content_digest: str | None
    cursor: str | None
    last_accepted: int | None
    consecutive_failures: int


def fetch_memory(connection: Connection, source_id: int) -> FetchMemory:
    row = connection.execute(
        select(
            sources.c.etag,
            sources.c.last_modified,
            sources.c.content_digest,
            sources.c.cursor,
            sources.c.last_accepted,
            sources.c.consecutive_failures,
        ).where(sources.c.id == source_id)
    ).one()
    return FetchMemory(*row)


# After this many failed runs in a row a source is `error`; before that, `degraded`.
ERROR_AFTER_FAILURES = 3


def record_outcome(
    engine: Engine,
    source_id: int,
    *,
    status: str,
    etag: str | None = None,
    last_modified: str | None = None,
    content_digest: str | None = None,
    cursor: str | None = None,
    accepted: int | None = None,
    error: str | None = None,
    keep_validators: bool = False,
) -> None:
    """Remember a run's outcome: validators for the next conditional fetch, and the source's health.

    healthy: the last run worked (fetched, or nothing changed); degraded: the last run failed, or the
    feed shrank to nothing; error: ERROR_AFTER_FAILURES failed runs in a row.
    """
    now = now_us()
    values: dict[str, object] = {"last_status": status, "last_run_at": now}
    if not keep_validators:
        values.update(etag=etag, last_modified=last_modified, content_digest=content_digest)
    if cursor is not None:
        values["cursor"] = cursor
    if status == "failed":
        values["consecutive_failures"] = sources.c.consecutive_failures + 1
        values["last_error"] = error
    else:
        values.update(consecutive_failures=0, last_success_at=now)
        values["last_error"] = error if status == "degraded" else None
    if accepted:
        values["last_accepted"] = accepted
    with write_transaction(engine) as connection:
        connection.execute(update(sources).where(sources.c.id == source_id).values(**values))
        (failures,) = connection.execute(
            select(sources.c.consecutive_failures).where(sources.c.id == source_id)
        ).one()
        if status == "failed":
            health = "error" if failures >= ERROR_AFTER_FAILURES else "degraded"
        else:
            health = "degraded" if status == "degraded" else "healthy"
        connection.execute(update(sources).where(sources.c.id == source_id).values(health=health))


def set_enabled(engine: Engine, name: str, enabled: bool) -> None:
    with write_transaction(engine) as connection:
        connection.execute(update(sources).where(sources.c.name == name).values(enabled=enabled))
