"""Age decay, applied: recompute every live indicator's score as of now, in keyset batches.

Only the band and the status are what a delta client tracks, so only a change of either moves
`updated_at` (through the writer clock); a score that merely lost a few points is rewritten
silently. Screened (false-positive) and revoked indicators are decisions, not scores: left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, bindparam, select, update

from iocfeed.scoring import band, decayed_score, lifecycle_status
from iocfeed.store.schema import indicators
from iocfeed.store.writer import write_batch
from iocfeed.timeutil import now_us

BATCH = 5_000


@dataclass(slots=True)
class RescoreCounts:
    examined: int = 0
    changed: int = 0  # band or status moved: clients see it
    rescored: int = 0  # only the number moved


def rescore_all(engine: Engine, *, now: int | None = None) -> RescoreCounts:
    now = now or now_us()
    counts = RescoreCounts()
    after = 0
    columns = (
        indicators.c.pk,
        indicators.c.type,
        indicators.c.base_score,
        indicators.c.last_seen,
        indicators.c.score,
        indicators.c.confidence,
        indicators.c.status,
    )
    while True:
        with write_batch(engine) as batch:
            rows = batch.connection.execute(
                select(*columns)
                .where(indicators.c.pk > after, indicators.c.status.in_(("active", "expired")))
                .order_by(indicators.c.pk)
                .limit(BATCH)
            ).all()
            if not rows:
                return counts
            after = rows[-1].pk
            visible, silent = [], []
            for row in rows:
                score = decayed_score(row.type, row.base_score, row.last_seen, now)
                status = lifecycle_status(row.status, score)
                confidence = band(score)
                if confidence != row.confidence or status != row.status:
                    visible.append(
                        {
                            "b_pk": row.pk,
                            "score": score,
                            "confidence": confidence,
                            "status": status,
                            "updated_at": batch.clock,
                        }
                    )
                elif score != row.score:
                    silent.append({"b_pk": row.pk, "score": score})
            statement = update(indicators).where(indicators.c.pk == bindparam("b_pk"))
            if visible:
                batch.connection.execute(statement, visible)
            if silent:
                batch.connection.execute(statement, silent)
            counts.examined += len(rows)
            counts.changed += len(visible)
            counts.rescored += len(silent)
