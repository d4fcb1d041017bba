"""What each stage of an ingest costs alone, and the best any overlap of them could do on this host.

    .venv/bin/python -m benchmarks.ingest_budget [--rows 1000000]

Runs the ingest_bench CSV through the pipeline's own stages in passes, one thread, nothing
overlapped: the first pass only reads the rows, each next pass also does one more stage (convert:
type, refang, canonical value, dates, tags; screen: the warning lists; prepare: merge by value, ids,
new rows; write: the store's upsert into a fresh SQLite database in the writer's 10,000-row chunks
and 100,000-row transactions). A stage's own cost is its pass less the one before. Then the
pipeline as shipped (its writer thread beside the reading one) ingests the same feed into another
fresh database, so both are measured in the same minutes: this host's speed drifts.

The last pass's CPU seconds are what the whole ingest needs of a processor. However the stages are
overlapped (threads, processes), N cores cannot finish it in less than that divided by N: that
bound, against the 50,000 indicators/s floor, is printed last. The garbage collector runs as it
does while a writer works (pipeline.WRITER_GC_YOUNG_THRESHOLD).
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select

from benchmarks.ingest_bench import generate
from iocfeed.config import Settings
from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.screen import Screener
from iocfeed.pipeline import (
    PREPARE_CHUNK,
    WRITER_GC_YOUNG_THRESHOLD,
    RecordConverter,
    RecordMapping,
    ingest_records,
)
from iocfeed.sources.files import read_file
from iocfeed.sources.records import RawRecord, ReaderOptions
from iocfeed.store.catalog import SourceSpec, ensure_source
from iocfeed.store.engine import bulk_writes, make_engine
from iocfeed.store.migrate import upgrade
from iocfeed.store.schema import indicators
from iocfeed.store.upsert import (
    Observation,
    PreparedBatch,
    SourceInfo,
    prepare_observations,
    upsert_prepared,
)
from iocfeed.store.writer import write_batch
from iocfeed.timeutil import MICROS_PER_SECOND, now_us

STAGES = ("read", "convert", "screen", "prepare", "write")
FLOOR = 50_000  # indicators/s on SQLite (issue 4)
SPEC = SourceSpec(name="Bench", category="community", reliability=3, format="csv")


@dataclass(frozen=True, slots=True)
class Pass:
    stage: str  # the last stage this pass did
    rows: int  # what reached its end: records read, observations, or indicators stored
    wall: float
    cpu: float


class _Run:
    """One pass's stages over the feed, up to `last`."""

    def __init__(
        self, feed: Path, screener: Screener, settings: Settings, last: str, engine: Engine | None
    ) -> None:
        self.feed = feed
        self.screener = screener
        self.settings = settings
        self.depth = STAGES.index(last)
        self.engine = engine

    def observations(self) -> Iterator[Observation]:
        convert = RecordConverter(RecordMapping())
        screen = self.screener.screen if self.depth >= STAGES.index("screen") else None
        for record in _records(self.feed):
            try:
                observation = convert(record)
            except InvalidIndicator:
                continue
            if screen is not None:
                verdict = screen(observation.type, observation.value)
                if verdict is not None:
                    observation.screened_by = verdict.list_name
            yield observation

    def __call__(self) -> int:
        if self.depth == 0:
            return sum(1 for _ in _records(self.feed))
        if self.depth <= STAGES.index("screen"):
            return sum(1 for _ in self.observations())
        source = SourceInfo(0, SPEC.name, SPEC.category, SPEC.reliability)
        if self.engine is not None:
            source = ensure_source(self.engine, SPEC)[0]
        observed_at = now_us()
        chunks = _chunked(self.observations(), PREPARE_CHUNK)
        if self.engine is None:
            prepared = 0  # observations
            for chunk in chunks:
                prepare_observations(source, chunk, observed_at=observed_at)
                prepared += len(chunk)
            return prepared
        return self._write(prepare_observations(source, chunk, observed_at=observed_at) for chunk in chunks)

    def _write(self, prepared: Iterator[PreparedBatch]) -> int:
        """The writer's work, on this thread: chunks into transactions of Settings.batch_size rows."""
        assert self.engine is not None
        granularity = self.settings.last_seen_granularity_seconds * MICROS_PER_SECOND
        per_batch = max(1, self.settings.batch_size // PREPARE_CHUNK)
        with bulk_writes(self.engine):
            pending = iter(prepared)
            while True:
                with write_batch(self.engine) as batch:
                    taken = 0
                    for chunk in pending:
                        upsert_prepared(batch, chunk, last_seen_granularity=granularity)
                        taken += 1
                        if taken == per_batch:
                            break
                if taken < per_batch:
                    break
        return _stored(self.engine)


def _records(feed: Path) -> Iterator[RawRecord]:
    for item in read_file(feed, "csv", ReaderOptions()):
        assert isinstance(item, RawRecord)
        yield item


def _stored(engine: Engine) -> int:
    """Indicators in the store."""
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(indicators)).scalar_one()


def _chunked(observations: Iterator[Observation], size: int) -> Iterator[list[Observation]]:
    chunk: list[Observation] = []
    for observation in observations:
        chunk.append(observation)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _fresh_engine(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


def _timed(work: Callable[[], int], stage: str) -> Pass:
    saved = gc.get_threshold()
    gc.set_threshold(WRITER_GC_YOUNG_THRESHOLD, *saved[1:])
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        rows = work()
        return Pass(stage, rows, time.perf_counter() - wall, time.process_time() - cpu)
    finally:
        gc.set_threshold(*saved)


def measure(feed: Path, work: Path, screener: Screener) -> tuple[list[Pass], Pass]:
    """The passes, then the shipped pipeline on the same feed. Raises SystemExit when a pass lost
    rows another kept (the figures would compare different work)."""
    settings = Settings()  # the batch size and last-seen granularity the pipeline would use
    passes = []
    for stage in STAGES:
        engine = _fresh_engine(work / "passes.db") if stage == "write" else None
        passes.append(_timed(_Run(feed, screener, settings, stage, engine), stage))
        if engine is not None:
            engine.dispose()
    shipped_engine = _fresh_engine(work / "shipped.db")

    def shipped() -> int:
        result = ingest_records(
            shipped_engine, settings, SPEC, _records(feed), RecordMapping(), screener=screener
        )
        if result.error:
            raise SystemExit(f"the pipeline failed: {result.error}")
        return _stored(shipped_engine)

    pipeline = _timed(shipped, "pipeline")
    shipped_engine.dispose()
    converted = {p.rows for p in passes if p.stage in ("convert", "screen", "prepare")}
    stored = {passes[-1].rows, pipeline.rows}
    if len(converted) != 1 or len(stored) != 1 or passes[0].rows < next(iter(converted)):
        raise SystemExit(f"the passes disagree on the rows: {passes}, {pipeline}")
    return passes, pipeline


def report(passes: list[Pass], pipeline: Pass, cores: int) -> str:
    rows = passes[0].rows
    lines = [
        f"{rows:,} rows read, {passes[-1].rows:,} indicators stored; one thread, stage after stage:",
        "",
        "| stage | pass CPU seconds | the stage's own | µs a row |",
        "|---|---:|---:|---:|",
    ]
    before = 0.0
    for each in passes:
        own = each.cpu - before
        lines.append(f"| {each.stage} | {each.cpu:.1f} | {own:.1f} | {own / rows * 1e6:.1f} |")
        before = each.cpu
    needed = passes[-1].cpu
    best = needed / cores
    stored = passes[-1].rows
    lines += [
        "",
        f"The pipeline as shipped (writer thread): {pipeline.wall:.1f} s, {pipeline.cpu:.1f} CPU seconds, "
        f"{stored / pipeline.wall:,.0f} indicators/s.",
        f"All stages need {needed:.1f} CPU seconds; on {cores} cores no overlap of them finishes in less "
        f"than {best:.1f} s: at best {stored / best:,.0f} indicators/s on this host.",
        f"The floor of {FLOOR:,}/s leaves {stored / FLOOR:.1f} s, that is {stored / FLOOR * cores:.1f} CPU "
        f"seconds on {cores} cores: {needed / (stored / FLOOR * cores):.2f} times what the stages need now.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="iocfeed-budget-") as tmp:
        work = Path(tmp)
        feed = work / "feed.csv"
        generate(feed, args.rows)
        passes, pipeline = measure(feed, work, Screener.default())
        print(report(passes, pipeline, os.cpu_count() or 1))


if __name__ == "__main__":
    main()
