"""Canonical forms of vulnerability and technique ids: CVE ids and MITRE ATT&CK ids.

CVE ids are checked by syntax only (there is no bundled CVE list, and new ids appear daily).
ATT&CK ids must be known to ATT&CK: a typo like `T1095.001` would otherwise become a technique
nobody can look up. Techniques and sub-techniques come from the `mitre-attack-pattern` cluster
bundled in `pymispgalaxies` (enterprise, mobile and the retired PRE-ATT&CK ids, which old reports
still cite), plus the ICS techniques from its `mitre-ics-techniques` cluster. Tactic ids (TA00xx)
are in no bundled cluster with ids for all three matrices, so they are a table here.

The cluster files are read once, lazily, straight from the package's data folder: building
`pymispgalaxies.Clusters()` would parse and validate every galaxy, which takes seconds.
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from iocfeed.errors import InvalidIndicator

# Hyphen-minus, underscore, space, and the Unicode dashes advisories get from word processors.
_SEP = "[-_ \u2010\u2011\u2012\u2013\u2014\u2212]"
CVE_RE = re.compile(rf"(?i)CVE{_SEP}([0-9]{{4}}){_SEP}([0-9]{{4,}})")
# `T1059`, `T1059.001` (or `T1059/001` as in attack.mitre.org links), `TA0011`.
ATTACK_RE = re.compile(r"(?i)(TA[0-9]{4}|T[0-9]{4})(?:[./]([0-9]{3}))?")

FIRST_CVE_YEAR = 1999  # the year the CVE list started

# Tactics of the enterprise, mobile and ICS matrices (attack.mitre.org/tactics/).
# fmt: off
TACTICS: dict[str, str] = {
    "TA0043": "Reconnaissance", "TA0042": "Resource Development", "TA0001": "Initial Access",
    "TA0002": "Execution", "TA0003": "Persistence", "TA0004": "Privilege Escalation",
    "TA0005": "Defense Evasion", "TA0006": "Credential Access", "TA0007": "Discovery",
    "TA0008": "Lateral Movement", "TA0009": "Collection", "TA0011": "Command and Control",
    "TA0010": "Exfiltration", "TA0040": "Impact",
    # Mobile
    "TA0027": "Initial Access", "TA0041": "Execution", "TA0028": "Persistence",
    "TA0029": "Privilege Escalation", "TA0030": "Defense Evasion", "TA0031": "Credential Access",
    "TA0032": "Discovery", "TA0033": "Lateral Movement", "TA0035": "Collection",
    "TA0037": "Command and Control", "TA0036": "Exfiltration", "TA0034": "Impact",
    "TA0038": "Network Effects", "TA0039": "Remote Service Effects",
    # ICS
    "TA0108": "Initial Access", "TA0104": "Execution", "TA0110": "Persistence",
    "TA0111": "Privilege Escalation", "TA0103": "Evasion", "TA0102": "Discovery",
    "TA0109": "Lateral Movement", "TA0100": "Collection", "TA0101": "Command and Control",
    "TA0107": "Inhibit Response Function", "TA0106": "Impair Process Control", "TA0105": "Impact",
}
# fmt: on


class Technique(NamedTuple):
    name: str
    tactics: tuple[str, ...]  # kill-chain phase names, e.g. "command-and-control"


def canonicalize_cve(raw: str) -> str:
    """`CVE-2021-44228` from `cve-2021-44228`, `CVE_2021_44228` or `CVE–2021–044228`."""
    value = raw.strip()
    match = CVE_RE.fullmatch(value)
    if match is None:
        raise InvalidIndicator(f"{value[:80]!r} is not a CVE id (CVE-YYYY-NNNN, four or more digits).")
    year, number = match.groups()
    if int(year) < FIRST_CVE_YEAR:
        raise InvalidIndicator(f"{value!r} has year {year}; CVE ids start in {FIRST_CVE_YEAR}.")
    # Sequence numbers have four digits, or more without leading zeros: `044228` means 44228.
    return f"CVE-{year}-{int(number):04d}"


def canonicalize_attack(raw: str) -> str:
    """`T1059.001` from `t1059.001` or `T1059/001`; `TA0011`; InvalidIndicator if not in ATT&CK."""
    value = raw.strip()
    match = ATTACK_RE.fullmatch(value)
    if match is None:
        raise InvalidIndicator(f"{value[:80]!r} is not a MITRE ATT&CK id (T1234, T1234.001 or TA0001).")
    base, sub = match.groups()
    base = base.upper()
    if base.startswith("TA"):
        if sub is not None:
            raise InvalidIndicator(f"{value!r}: tactics (TA....) have no sub-ids.")
        if base not in TACTICS:
            raise InvalidIndicator(f"{base} is not a known MITRE ATT&CK tactic.")
        return base
    attack_id = f"{base}.{sub}" if sub is not None else base
    if attack_id not in _techniques():
        raise InvalidIndicator(f"{attack_id} is not a known MITRE ATT&CK technique.")
    return attack_id


def attack_name(attack_id: str) -> str | None:
    """The name of a canonical ATT&CK id (`T1071` -> "Application Layer Protocol"), or None."""
    technique = _techniques().get(attack_id)
    if technique is not None:
        return technique.name
    return TACTICS.get(attack_id)


def attack_tactics(technique_id: str) -> list[str]:
    """The kill-chain phases of a canonical technique id (`T1071` -> ["command-and-control"])."""
    technique = _techniques().get(technique_id)
    return list(technique.tactics) if technique is not None else []


def _clusters_dir() -> Path:
    # find_spec locates the package without importing it (its api module pulls in jsonschema).
    spec = importlib.util.find_spec("pymispgalaxies")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pymispgalaxies is not installed; it ships the ATT&CK technique list.")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "misp-galaxy" / "clusters"


def _load_cluster(name: str) -> list[dict[str, Any]]:
    with (_clusters_dir() / f"{name}.json").open(encoding="utf-8") as handle:
        values: list[dict[str, Any]] = json.load(handle)["values"]
    return values


@lru_cache(maxsize=1)
def _techniques() -> dict[str, Technique]:
    """Every known technique id and its name and tactics; read on first use (about 50 ms)."""
    techniques: dict[str, Technique] = {}
    for entry in _load_cluster("mitre-attack-pattern"):
        meta = entry.get("meta", {})
        attack_id = meta.get("external_id")
        if not isinstance(attack_id, str):
            continue
        # Values read "Application Layer Protocol - T1071"; the id suffix is redundant here.
        name = entry["value"].removesuffix(f" - {attack_id}")
        phases: list[str] = []
        for phase in meta.get("kill_chain", []):  # "attack-Windows:execution": platform:phase
            tactic = phase.rpartition(":")[2]
            if tactic not in phases:
                phases.append(tactic)
        techniques[attack_id] = Technique(name, tuple(phases))
    # The ICS cluster predates the T0xxx numbering: its "T800" is today's T0800.
    for entry in _load_cluster("mitre-ics-techniques"):
        meta = entry.get("meta", {})
        for old_id in meta.get("Technique ID", []):
            if re.fullmatch(r"T[0-9]{3}", old_id):
                phases = [t.lower().replace(" ", "-") for t in meta.get("Tactic", [])]
                techniques.setdefault(f"T0{old_id[1:]}", Technique(entry["value"], tuple(phases)))
    return techniques
