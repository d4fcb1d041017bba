"""`iocfeed scheduler`: every enabled source on its own schedule, in one process.

Sources are fetched concurrently (a small thread pool: fetching is waiting on the network), while
writes are serialized by the ingest lock. A source still running when it falls due again is not
started twice. Decay is applied every RESCORE_SECONDS so that bands and statuses follow age.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy import Engine, select

from iocfeed.ingest import Ingestor, SourceOutcome
from iocfeed.sources.catalog import SourceDefinition
from iocfeed.store.lock import ingest_lock
from iocfeed.store.rescore import rescore_all
from iocfeed.store.schema import sources
from iocfeed.timeutil import MICROS_PER_SECOND, now_us

log = logging.getLogger(__name__)

RESCORE_SECONDS = 3_600
TICK_SECONDS = 5.0


class Scheduler:
    def __init__(
        self,
        engine: Engine,
        ingestor: Ingestor,
        definitions: list[SourceDefinition],
        *,
        workers: int = 4,
        clock: Callable[[], int] = now_us,
        on_outcome: Callable[[SourceOutcome], None] | None = None,
    ) -> None:
        self.engine = engine
        self.ingestor = ingestor
        self.definitions = [d for d in definitions if d.enabled]
        self.clock = clock
        self.on_outcome = on_outcome
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="iocfeed-source")
        self._running: dict[str, Future[SourceOutcome]] = {}
        self._last_rescore = 0

    def due(self) -> list[SourceDefinition]:
        """Enabled sources whose schedule has come round (never run: due now), not already running."""
        with self.engine.connect() as connection:
            last_runs = dict(connection.execute(select(sources.c.name, sources.c.last_run_at)).all())
        now = self.clock()
        due = []
        for definition in self.definitions:
            if definition.name in self._running:
                continue
            last = last_runs.get(definition.name)
            if last is None or now - last >= definition.schedule_seconds * MICROS_PER_SECOND:
                due.append(definition)
        return due

    def tick(self) -> list[Future[SourceOutcome]]:
        """Start every due source; collect finished ones; rescore when its hour has come."""
        for name, future in list(self._running.items()):
            if future.done():
                del self._running[name]
                outcome = future.result()
                log.info(
                    "%s: %s (%s) in %.1f s", outcome.name, outcome.status, outcome.message, outcome.seconds
                )
                if self.on_outcome:
                    self.on_outcome(outcome)
        started = []
        for definition in self.due():
            future = self._pool.submit(self.ingestor.run, definition)
            self._running[definition.name] = future
            started.append(future)
        if self.clock() - self._last_rescore >= RESCORE_SECONDS * MICROS_PER_SECOND:
            self._last_rescore = self.clock()
            with ingest_lock(self.engine):
                counts = rescore_all(self.engine)
            log.info("rescored %d indicators: %d changed band or status", counts.examined, counts.changed)
        return started

    def run_forever(self, stop: threading.Event) -> None:
        log.info("scheduler: %d enabled sources", len(self.definitions))
        while not stop.is_set():
            self.tick()
            stop.wait(TICK_SECONDS)
        self.shutdown()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
