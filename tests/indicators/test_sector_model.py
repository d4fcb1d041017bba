"""The sector keyword model and the ATT&CK ids an advisory cites."""

from __future__ import annotations

import pytest

from iocfeed.indicators.sector_model import (
    MIN_SCORE,
    SECTOR_KEYWORDS,
    SectorMatch,
    cited_techniques,
    detect_sectors,
)
from iocfeed.sectors import SECTORS, normalize_sector


def slugs(text: str) -> list[str]:
    return [match.slug for match in detect_sectors(text)]


def test_every_cisa_sector_has_keywords_and_its_own_name_is_strong() -> None:
    assert set(SECTOR_KEYWORDS) == set(SECTORS)
    for slug, keywords in SECTOR_KEYWORDS.items():
        assert max(keywords.values()) >= MIN_SCORE, slug
        for phrase in keywords:
            assert phrase == phrase.lower(), phrase


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The group has targeted hospitals in the Midwest.", "healthcare"),
        ("Victims include several electric utilities and a natural gas pipeline operator.", "energy"),
        ("The actor compromised water treatment plants in two states.", "water"),
        ("Intrusions at regional banks and credit unions were reported.", "financial-services"),
        ("The campaign targets telecommunications providers in Asia.", "communications"),
        ("Organizations in the Defense Industrial Base should review these logs.", "defense-industrial-base"),
        ("It targeted managed service providers to reach their customers.", "information-technology"),
        ("Attacks on airports and airlines disrupted check-in systems.", "transportation"),
        ("The ransomware hit automotive manufacturers and their suppliers.", "critical-manufacturing"),
        ("Threat actors targeted state and local government networks.", "government-facilities"),
        ("Meat processing plants and farms were affected by the outage.", "food-and-agriculture"),
        ("The wiper was deployed against police and fire departments.", "emergency-services"),
        ("The malware targeted hydroelectric dams in the region.", "dams"),
        ("Casinos and hotels were breached through a help-desk call.", "commercial-facilities"),
        ("Petrochemical companies were targeted with spearphishing.", "chemical"),
        ("Operators of nuclear power plants were targeted.", "nuclear"),
    ],
)
def test_a_cued_sector_phrase_is_detected(text: str, expected: str) -> None:
    assert expected in slugs(text)
    assert normalize_sector(expected) == expected


def test_a_passing_mention_without_a_cue_is_not_enough() -> None:
    assert slugs("The Department of Energy co-authored this advisory.") == []
    assert slugs("Our analysts drink water and use a bank account.") == []


def test_a_strong_phrase_said_twice_counts_without_a_cue() -> None:
    assert slugs("Hospital networks were slow. The hospital IT staff rebuilt them.") == ["healthcare"]


def test_repetition_is_capped() -> None:
    once = detect_sectors("The actor targeted banks.")[0].score
    many = detect_sectors("The actor targeted banks. " * 20)[0].score
    assert many == 3 * once


def test_matches_are_ranked_and_explain_themselves() -> None:
    text = (
        "The actor targeted hospitals and healthcare providers across the region. One bank was also affected."
    )
    matches = detect_sectors(text)
    assert [m.slug for m in matches] == ["healthcare", "financial-services"]
    assert matches[0] == SectorMatch("healthcare", 16, ("healthcare", "hospitals"))
    assert matches[1].keywords == ("bank",)


def test_whole_words_only_and_longest_phrase_first() -> None:
    assert slugs("SolarWinds and Damian targeted something.") == []
    # "public health" is healthcare's phrase, not also a weak "health" or "public" anything.
    assert detect_sectors("Attacks on public health agencies continue.")[0].keywords == ("public health",)


def test_html_is_read_as_text() -> None:
    assert slugs("<p>The group <b>targeted</b> <i>hospitals</i>.</p>") == ["healthcare"]


def test_deterministic() -> None:
    text = "Victims were in the energy sector, the water sector and among banks."
    assert detect_sectors(text) == detect_sectors(text)


def test_cited_techniques_in_order_canonical_and_known() -> None:
    text = (
        "Initial access via phishing (t1566.001), then PowerShell [T1059.001] and T1059.001 again; "
        "tactic TA0011. A typo T1999 and T9999 are not techniques. See "
        "https://attack.mitre.org/techniques/T1071/001/ and https://attack.mitre.org/tactics/TA0010/."
    )
    assert cited_techniques(text) == ["T1566.001", "T1059.001", "TA0011", "T1071.001", "TA0010"]


def test_cited_techniques_in_html_links() -> None:
    html = '<p>See <a href="https://attack.mitre.org/techniques/T1190/">this technique</a>.</p>'
    assert cited_techniques(html, "html") == ["T1190"]
