"""CVE and MITRE ATT&CK ids: syntax, case, and (for ATT&CK) being known to ATT&CK."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.vulns import (
    TACTICS,
    _clusters_dir,
    attack_name,
    attack_tactics,
    canonicalize_attack,
    canonicalize_cve,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("CVE-2021-44228", "CVE-2021-44228"),
        ("cve-2021-44228", "CVE-2021-44228"),
        (" Cve-2014-0160 ", "CVE-2014-0160"),
        ("CVE-1999-0001", "CVE-1999-0001"),
        ("CVE-2024-1234567", "CVE-2024-1234567"),
        ("CVE_2021_44228", "CVE-2021-44228"),
        ("CVE 2021 44228", "CVE-2021-44228"),
        ("CVE–2021–44228", "CVE-2021-44228"),  # en dashes from a word processor
        ("CVE-2021-044228", "CVE-2021-44228"),  # more than four digits never start with 0
    ],
)
def test_cve_canonical(raw: str, expected: str) -> None:
    assert canonicalize_cve(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("CVE-1998-0001", "CVE ids start in 1999"),
        ("CVE-2021-123", "not a CVE id"),
        ("CVE-21-44228", "not a CVE id"),
        ("CVE-2021-44228a", "not a CVE id"),
        ("2021-44228", "not a CVE id"),
        ("CVE-２０２１-44228", "not a CVE id"),
    ],
)
def test_cve_rejects(raw: str, reason: str) -> None:
    with pytest.raises(InvalidIndicator, match=reason):
        canonicalize_cve(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("T1059", "T1059"),
        ("t1059", "T1059"),
        ("T1059.001", "T1059.001"),
        ("t1566.001", "T1566.001"),
        ("T1059/001", "T1059.001"),  # as in attack.mitre.org links
        ("TA0011", "TA0011"),
        ("ta0001", "TA0001"),
        ("TA0108", "TA0108"),  # ICS
        ("TA0037", "TA0037"),  # mobile
        ("T1437", "T1437"),  # mobile technique
        ("T0800", "T0800"),  # ICS technique
        ("T1393", "T1393"),  # retired PRE-ATT&CK id, still cited by old reports
    ],
)
def test_attack_canonical(raw: str, expected: str) -> None:
    assert canonicalize_attack(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("T9999", "T9999 is not a known MITRE ATT&CK technique"),
        ("T1059.999", "not a known MITRE ATT&CK technique"),
        ("TA0099", "not a known MITRE ATT&CK tactic"),
        ("TA0011.001", "no sub-ids"),
        ("T159", "not a MITRE ATT&CK id"),
        ("T1059.1", "not a MITRE ATT&CK id"),
        ("S0154", "not a MITRE ATT&CK id"),
    ],
)
def test_attack_rejects(raw: str, reason: str) -> None:
    with pytest.raises(InvalidIndicator, match=reason):
        canonicalize_attack(raw)


def test_attack_names_and_tactics() -> None:
    assert attack_name("T1071") == "Application Layer Protocol"
    assert attack_tactics("T1071") == ["command-and-control"]
    assert attack_name("T1059.001") == "PowerShell"
    assert attack_tactics("T1059.001") == ["execution"]
    assert attack_name("TA0011") == "Command and Control"
    assert attack_tactics("TA0011") == []
    assert attack_name("T0800") == "Activate Firmware Update Mode"
    assert attack_tactics("T0800") == ["inhibit-response-function"]
    assert attack_name("T9999") is None
    assert attack_tactics("T9999") == []


def test_tactic_table_agrees_with_the_bundled_enterprise_tactics() -> None:
    # The tidal cluster lists enterprise tactics with their ATT&CK ids: the table must match it.
    values = json.loads(Path(_clusters_dir(), "tidal-tactic.json").read_text(encoding="utf-8"))["values"]
    bundled = {v["meta"]["tactic_attack_id"]: v["value"] for v in values if v["meta"].get("tactic_attack_id")}
    assert bundled
    for tactic_id, name in bundled.items():
        assert TACTICS[tactic_id] == name
