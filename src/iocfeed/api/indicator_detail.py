"""One indicator in full: the record, every source, the score's breakdown in words, ATT&CK names.

Shared by GET /api/v1/iocs/{id} and GET /api/v1/lookup, so both explain a score the same way.
"""

from __future__ import annotations

from typing import Any

import msgspec

from iocfeed.api.serialize import ScoreOut, indicator_out, sighting_out
from iocfeed.indicators.vulns import attack_name
from iocfeed.scoring import ScoreBreakdown, SourceEvidence, score_indicator
from iocfeed.store.queries import IndicatorRow, SourceRef, choose_source


class TechniqueOut(msgspec.Struct):
    id: str
    name: str | None


def score_breakdown(row: IndicatorRow, refs: list[SourceRef], now: int) -> ScoreOut:
    evidence: dict[str, SourceEvidence] = {}
    for ref in refs:  # one entry per distinct source: its articles do not corroborate each other
        seen = evidence.get(ref.feed_name)
        if seen is None or ref.last_seen > seen.last_seen:
            evidence[ref.feed_name] = SourceEvidence(
                ref.feed_name, ref.category, ref.reliability, ref.last_seen
            )
    breakdown = score_indicator(row.type, list(evidence.values()), now)
    fields = {name: getattr(breakdown, name) for name in breakdown.__slots__}
    fields["base"] = round(breakdown.base, 2)
    return ScoreOut(**fields, explanation=explain(breakdown))


def explain(b: ScoreBreakdown) -> str:
    parts = [f"strongest source reliability {b.strongest_reliability}"]
    if b.independent_sources > 1:
        parts.append(f"+{b.corroboration:g} from {b.independent_sources - 1} corroborating source(s)")
    if b.half_life_days is None:
        parts.append("no age decay for this type")
    else:
        parts.append(
            f"x{b.decay_factor:g} decay ({b.age_days:g} days since last seen, half-life {b.half_life_days:g} days)"
        )
    return f"{', '.join(parts)} = {b.score} ({b.confidence})"


def techniques_with_names(row: IndicatorRow) -> list[TechniqueOut]:
    ids = msgspec.json.decode(row.mitre_techniques)
    if row.type == "mitre-attack":
        ids = [row.value, *ids]
    return [TechniqueOut(technique, attack_name(technique)) for technique in dict.fromkeys(ids)]


def indicator_detail(row: IndicatorRow, refs: list[SourceRef], now: int) -> dict[str, Any]:
    record = indicator_out(row, choose_source(refs), now)
    breakdown = score_breakdown(row, refs, now)
    return {
        **{name: getattr(record, name) for name in record.__struct_fields__},
        "score": breakdown.score,  # as of now, and so equal to the breakdown's
        "status_reason": row.status_reason,
        "sources": [sighting_out(ref) for ref in refs],
        "score_breakdown": breakdown,
        "mitre_technique_names": techniques_with_names(row),
    }
