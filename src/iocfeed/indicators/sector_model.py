"""What an advisory says about who is targeted: CISA sectors by a keyword model, ATT&CK ids it cites.

    detect_sectors(text) -> list[SectorMatch]     best first
    cited_techniques(text) -> list[str]           canonical ATT&CK ids, in order of first citation

The sector model is deliberately simple, so an analyst can predict and test it:

- Each CISA sector (`iocfeed.sectors.SECTORS`) has phrases with weights (`SECTOR_KEYWORDS`): 5-6
  for the sector's own name ("water and wastewater"), 3-4 for unambiguous members ("hospital",
  "electric utility", "managed service provider"), 1-2 for words that are often used loosely
  ("energy", "government", "medical").
- Each occurrence scores its weight, doubled when its sentence has a targeting cue ("targeted",
  "sector", "organizations in", "victims", "against", ...: `TARGETING_CUES`). A phrase counts at
  most `MAX_OCCURRENCES` times, so a word repeated in a long report does not outweigh the rest.
- A sector is reported when its score reaches `MIN_SCORE`: one cued strong phrase ("targeting
  hospitals"), or a strong phrase said twice, or several weaker ones. Boilerplate such as "the
  Department of Energy" (weight 2, no cue) stays under it.

No network and no randomness: the same text gives the same answer. Matching is case-insensitive on
whole words; phrases are matched longest first, so "public health" is not also "health".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.extract import extract
from iocfeed.indicators.extract_context import Sentences
from iocfeed.indicators.extract_html import looks_like_html, render_html
from iocfeed.indicators.types import IndicatorType
from iocfeed.indicators.vulns import canonicalize_attack

MIN_SCORE = 6
MAX_OCCURRENCES = 3
CUE_MULTIPLIER = 2

# fmt: off
SECTOR_KEYWORDS: dict[str, dict[str, int]] = {
    "chemical": {
        "chemical sector": 6, "chemical manufacturing": 4, "chemical plant": 4, "chemical plants": 4,
        "chemical facilities": 4, "chemical companies": 4, "petrochemical": 4, "fertilizer": 2,
        "pesticide": 2, "chemical": 1,
    },
    "commercial-facilities": {
        "commercial facilities": 6, "retail": 3, "retailer": 3, "retailers": 3, "hotel": 3, "hotels": 3,
        "hospitality": 3, "casino": 4, "casinos": 4, "stadium": 3, "stadiums": 3, "shopping mall": 3,
        "real estate": 2, "restaurant": 2, "restaurants": 2, "entertainment venues": 3,
    },
    "communications": {
        "communications sector": 6, "telecommunications": 4, "telecom": 4, "telecoms": 4, "telco": 4,
        "telcos": 4, "internet service provider": 4, "internet service providers": 4, "isp": 3,
        "isps": 3, "wireless carrier": 4, "wireless carriers": 4, "mobile network operator": 4,
        "mobile network operators": 4, "broadcasting": 3, "broadcaster": 3, "satellite communications": 3,
    },
    "critical-manufacturing": {
        "critical manufacturing": 6, "manufacturing": 3, "manufacturer": 3, "manufacturers": 3,
        "automotive": 3, "industrial machinery": 3, "electrical equipment": 3, "factory": 2,
        "factories": 2, "semiconductor": 2, "aerospace": 2,
    },
    "dams": {
        "dams sector": 6, "dam": 3, "dams": 3, "levee": 3, "levees": 3, "hydroelectric": 3,
        "navigation locks": 3, "reservoir": 2,
    },
    "defense-industrial-base": {
        "defense industrial base": 6, "defense contractor": 5, "defense contractors": 5,
        "cleared defense contractors": 6, "defense industry": 5, "defence industry": 5,
        "defense sector": 5, "military": 3, "munitions": 3, "weapons systems": 3, "dib": 4,
        "aerospace": 2,
    },
    "emergency-services": {
        "emergency services": 6, "law enforcement": 4, "police": 3, "fire department": 4,
        "fire departments": 4, "firefighters": 3, "emergency medical services": 4, "911": 3,
        "public safety": 3, "first responders": 4,
    },
    "energy": {
        "energy sector": 6, "electric utility": 5, "electric utilities": 5, "power grid": 4,
        "power plant": 4, "power plants": 4, "oil and gas": 5, "natural gas": 4, "pipeline operator": 4,
        "pipeline operators": 4, "refinery": 4, "refineries": 4, "electricity": 3, "energy companies": 4,
        "energy": 2, "utilities": 2,
    },
    "financial-services": {
        "financial services": 6, "financial sector": 6, "financial institution": 4,
        "financial institutions": 4, "bank": 3, "banks": 3, "banking": 3, "credit union": 4,
        "credit unions": 4, "insurance": 3, "insurers": 3, "cryptocurrency exchange": 4,
        "cryptocurrency exchanges": 4, "fintech": 3, "payment processor": 3, "stock exchange": 3,
        "finance": 2,
    },
    "food-and-agriculture": {
        "food and agriculture": 6, "agriculture": 4, "agricultural": 4, "food processing": 4,
        "food production": 4, "meat processing": 4, "farm": 3, "farms": 3, "food supply": 3,
        "grocery": 2, "beverage": 2,
    },
    "government-facilities": {
        "government facilities": 6, "government agency": 4, "government agencies": 4,
        "government entities": 4, "government organizations": 4, "federal agency": 4,
        "federal agencies": 4, "state and local government": 5, "state, local, tribal": 5,
        "municipal": 3, "municipalities": 3, "ministry": 3, "ministries": 3, "election": 3,
        "elections": 3, "public sector": 3, "embassy": 3, "embassies": 3, "diplomatic": 3,
        "school district": 3, "school districts": 3, "k-12": 3, "universities": 2, "government": 2,
    },
    "healthcare": {
        "healthcare and public health": 6, "healthcare": 4, "health care": 4, "hospital": 4,
        "hospitals": 4, "health system": 4, "health systems": 4, "public health": 4, "hph sector": 6,
        "patient": 3, "patients": 3, "clinic": 3, "clinics": 3, "pharmaceutical": 3,
        "medical": 2,
    },
    "information-technology": {
        "information technology sector": 6, "it sector": 6, "managed service provider": 4,
        "managed service providers": 4, "msp": 3, "msps": 3, "it service provider": 4,
        "it service providers": 4, "software vendor": 3, "software vendors": 3, "cloud provider": 3,
        "cloud providers": 3, "technology companies": 3, "technology sector": 5,
        "software supply chain": 3, "data center": 2, "data centers": 2,
    },
    "nuclear": {
        "nuclear reactors": 6, "nuclear power": 5, "nuclear facility": 5, "nuclear facilities": 5,
        "nuclear materials": 4, "radioactive": 3, "nuclear": 3,
    },
    "transportation": {
        "transportation sector": 6, "transportation systems": 6, "transportation": 3, "aviation": 4,
        "airline": 4, "airlines": 4, "airport": 4, "airports": 4, "maritime": 4, "shipping": 3,
        "seaport": 4, "seaports": 4, "railway": 4, "railways": 4, "rail": 3, "logistics": 3,
        "freight": 3, "trucking": 3, "mass transit": 4, "public transit": 4,
    },
    "water": {
        "water and wastewater": 6, "wastewater": 5, "water utility": 5, "water utilities": 5,
        "water treatment": 5, "drinking water": 5, "water sector": 6, "water systems": 4,
        "water facilities": 4, "water": 1,
    },
}
TARGETING_CUES = (
    "target", "targets", "targeted", "targeting", "sector", "sectors", "industry", "industries",
    "organizations in", "organisations in", "entities in", "companies in", "victims", "victim",
    "against", "attacks on", "compromised", "impacted", "affected", "breached", "intrusions",
)
# fmt: on

# Phrase -> the sectors it counts for, with weights (a phrase like "aerospace" counts for two).
_PHRASES: dict[str, list[tuple[str, int]]] = {}
for _slug, _keywords in SECTOR_KEYWORDS.items():
    for _phrase, _weight in _keywords.items():
        _PHRASES.setdefault(_phrase, []).append((_slug, _weight))
_PHRASE_RE = re.compile(
    r"(?i)(?<![\w-])(?:"
    + "|".join(re.escape(phrase) for phrase in sorted(_PHRASES, key=len, reverse=True))
    + r")(?![\w-])"
)
_CUE_RE = re.compile(r"(?i)\b(?:" + "|".join(re.escape(cue) for cue in TARGETING_CUES) + r")\b")


@dataclass(frozen=True, slots=True)
class SectorMatch:
    """A sector the text says is targeted, how strongly, and the phrases that said so."""

    slug: str
    score: int
    keywords: tuple[str, ...]  # distinct phrases found, strongest first


def detect_sectors(text: str, content_type: str | None = None) -> list[SectorMatch]:
    """The CISA sectors `text` says are targeted, best first (see the module doc for the model)."""
    plain = _plain_text(text, content_type)
    sentences = Sentences(plain)
    scores: dict[str, int] = {}
    found: dict[str, dict[str, int]] = {}
    occurrences: dict[str, int] = {}
    for match in _PHRASE_RE.finditer(plain):
        phrase = match.group().lower()
        occurrences[phrase] = occurrences.get(phrase, 0) + 1
        if occurrences[phrase] > MAX_OCCURRENCES:
            continue
        cued = _CUE_RE.search(sentences.around(match.start(), match.end())) is not None
        for slug, weight in _PHRASES[phrase]:
            points = weight * (CUE_MULTIPLIER if cued else 1)
            scores[slug] = scores.get(slug, 0) + points
            found.setdefault(slug, {})[phrase] = max(found.get(slug, {}).get(phrase, 0), points)
    matches = [
        SectorMatch(slug, score, tuple(sorted(found[slug], key=lambda p: (-found[slug][p], p))))
        for slug, score in scores.items()
        if score >= MIN_SCORE
    ]
    return sorted(matches, key=lambda m: (-m.score, m.slug))


_ATTACK_URL_RE = re.compile(
    r"attack\.mitre\.org/(?:techniques|tactics)/(T[A]?[0-9]{4})(?:/([0-9]{3}))?", re.IGNORECASE
)


def cited_techniques(text: str, content_type: str | None = None) -> list[str]:
    """ATT&CK ids `text` cites, canonical and known, in order of first citation; ids in
    attack.mitre.org links count (`.../techniques/T1059/001/` cites T1059.001)."""
    cited: dict[str, None] = {}
    for item in extract(text, content_type):
        if item.type == IndicatorType.MITRE_ATTACK:
            cited.setdefault(item.value)
        elif item.type == IndicatorType.URL and (link := _ATTACK_URL_RE.search(item.value)):
            base, sub = link.groups()
            try:
                cited.setdefault(canonicalize_attack(f"{base}.{sub}" if sub else base))
            except InvalidIndicator:
                continue
    return list(cited)


def _plain_text(text: str, content_type: str | None) -> str:
    is_html = content_type == "html" or (content_type is None and looks_like_html(text))
    return render_html(text).text if is_html else text
