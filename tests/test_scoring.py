"""Scores: corroboration, decay per type, re-arming by a new sighting, expiry, bands."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text

from iocfeed.scoring import (
    EXPIRE_BELOW,
    HALF_LIFE_DAYS,
    SourceEvidence,
    band,
    decayed_score,
    decayed_scorer,
    lifecycle_status,
    score_indicator,
)
from iocfeed.store.rescore import rescore_all
from iocfeed.store.schema import indicators
from iocfeed.timeutil import MICROS_PER_DAY, now_us
from tests.conftest import ingest_values

NOW = 1_800_000_000_000_000


def evidence(reliability: int, days_ago: float = 0, source: str = "s") -> SourceEvidence:
    return SourceEvidence(source, "community", reliability, NOW - int(days_ago * MICROS_PER_DAY))


def test_bands():
    assert [band(s) for s in (100, 75, 74, 50, 49, 0)] == ["high", "high", "medium", "medium", "low", "low"]


def test_one_source_scores_its_reliability():
    result = score_indicator("ipv4", [evidence(60)], NOW)
    assert (result.score, result.confidence, result.independent_sources) == (60, "medium", 1)


def test_independent_sources_corroborate_with_diminishing_returns():
    one = score_indicator("ipv4", [evidence(60, source="a")], NOW).score
    two = score_indicator("ipv4", [evidence(60, source="a"), evidence(60, source="b")], NOW).score
    three = score_indicator("ipv4", [evidence(60, source=s) for s in "abc"], NOW).score
    assert one < two < three <= 100
    assert two - one > three - two
    assert two == 72  # 60 + 40 x 0.6 x 0.5, as the module documents
    government_and_community = score_indicator(
        "ipv4", [evidence(85, source="g"), evidence(60, source="c")], NOW
    )
    assert government_and_community.score == 90 and government_and_community.corroboration == pytest.approx(
        4.5
    )


@pytest.mark.parametrize("indicator_type", ["ipv4", "url", "domain", "sha256", "email"])
def test_decay_halves_the_score_every_half_life(indicator_type):
    half_life = HALF_LIFE_DAYS[indicator_type]
    fresh = score_indicator(indicator_type, [evidence(80)], NOW).score
    aged = score_indicator(indicator_type, [evidence(80, days_ago=half_life)], NOW)
    assert fresh == 80 and aged.score == 40 and aged.decay_factor == pytest.approx(0.5)


def test_infrastructure_decays_faster_than_hashes_and_cves_do_not_decay():
    month = [evidence(80, days_ago=30)]
    assert score_indicator("ipv4", month, NOW).score < score_indicator("domain", month, NOW).score
    assert score_indicator("domain", month, NOW).score < score_indicator("sha256", month, NOW).score
    assert score_indicator("cve", [evidence(80, days_ago=3650)], NOW).score == 80
    assert score_indicator("mitre-attack", [evidence(80, days_ago=3650)], NOW).score == 80


def test_expiry_threshold_and_decisions_that_scores_never_undo():
    assert lifecycle_status("active", EXPIRE_BELOW) == "active"
    assert lifecycle_status("active", EXPIRE_BELOW - 1) == "expired"
    assert lifecycle_status("expired", 60) == "active"  # a new sighting re-arms it
    assert lifecycle_status("false-positive", 99) == "false-positive"
    assert lifecycle_status("revoked", 99) == "revoked"
    assert decayed_score("ipv4", 80.0, NOW - 90 * MICROS_PER_DAY, NOW) == 10


def _age(engine, value: str, days: int) -> None:
    shift = days * MICROS_PER_DAY
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE sightings SET last_seen = last_seen - :s, first_seen = first_seen - :s "
                "WHERE indicator_pk = (SELECT pk FROM indicators WHERE value = :v)"
            ),
            {"s": shift, "v": value},
        )
        connection.execute(
            text(
                "UPDATE indicators SET last_seen = last_seen - :s, first_seen = first_seen - :s "
                "WHERE value = :v"
            ),
            {"s": shift, "v": value},
        )


def row(engine, value):
    with engine.connect() as connection:
        return connection.execute(select(indicators).where(indicators.c.value == value)).one()


def test_rescore_moves_updated_at_only_when_band_or_status_changes(engine, settings):
    ingest_values(engine, settings, "Feed", "community", ["45.33.32.156", "45.33.32.157"], reliability=80)
    _age(engine, "45.33.32.156", 20)  # 80 -> 50.4: high -> medium
    _age(engine, "45.33.32.157", 2)  # 80 -> 76.4: still high
    before = {v: row(engine, v) for v in ("45.33.32.156", "45.33.32.157")}
    counts = rescore_all(engine)
    assert (counts.examined, counts.changed, counts.rescored) == (2, 1, 1)
    moved, still = row(engine, "45.33.32.156"), row(engine, "45.33.32.157")
    assert (moved.confidence, moved.score) == ("medium", 50) and moved.updated_at > before[
        "45.33.32.156"
    ].updated_at
    assert still.score == 76 and still.updated_at == before["45.33.32.157"].updated_at
    assert rescore_all(engine).changed == 0  # idempotent


def test_decay_expires_and_a_new_sighting_rearms(engine, settings):
    ingest_values(engine, settings, "Feed", "community", ["45.33.32.158"], reliability=60)
    _age(engine, "45.33.32.158", 90)  # 60 x 1/8 = 7.5
    rescore_all(engine)
    expired = row(engine, "45.33.32.158")
    assert (expired.status, expired.confidence) == ("expired", "low")
    ingest_values(engine, settings, "Feed", "community", ["45.33.32.158"], reliability=60)
    rearmed = row(engine, "45.33.32.158")
    assert (rearmed.status, rearmed.score) == ("active", 60)
    assert rearmed.updated_at > expired.updated_at


def test_screened_values_are_stored_as_false_positives_with_the_list_name(engine, settings):
    from iocfeed.indicators.screen import Screener
    from iocfeed.pipeline import RecordMapping, ingest_records
    from iocfeed.sources.records import RawRecord
    from iocfeed.store.catalog import SourceSpec

    records = [
        RawRecord(f"line {i}", v)
        for i, v in enumerate(
            ["8.8.8.8", "10.0.0.1", "google.com", "d41d8cd98f00b204e9800998ecf8427e", "45.33.32.159"], 1
        )
    ]
    ingest_records(
        engine,
        settings,
        SourceSpec("Feed", "community", 60),
        records,
        RecordMapping(),
        screener=Screener.default(),
    )
    with engine.connect() as connection:
        found = {r.value: (r.status, r.status_reason) for r in connection.execute(select(indicators))}
    assert found["45.33.32.159"] == ("active", None)
    for value in ("8.8.8.8", "10.0.0.1", "google.com", "d41d8cd98f00b204e9800998ecf8427e"):
        status, reason = found[value]
        assert status == "false-positive" and reason, value
    assert "DNS" in found["8.8.8.8"][1] or "resolver" in found["8.8.8.8"][1].lower()
    rescore_all(engine, now=now_us() + 3650 * MICROS_PER_DAY)  # decay never turns a decision back
    assert row(engine, "8.8.8.8").status == "false-positive"


@given(
    indicator_type=st.sampled_from(
        ["ipv4", "ipv6", "domain", "url", "md5", "sha256", "cve", "mitre-attack", "email"]
    ),
    base=st.floats(min_value=0, max_value=100),
    age_us=st.integers(min_value=-10 * MICROS_PER_DAY, max_value=4000 * MICROS_PER_DAY),
)
def test_the_page_scorer_agrees_with_decayed_score(indicator_type, base, age_us):
    """Pages score rows with decayed_scorer (one call a row); it must never disagree with the
    score the detail view and exports show."""
    assert decayed_scorer(NOW)(indicator_type, base, NOW - age_us) == decayed_score(
        indicator_type, base, NOW - age_us, NOW
    )
