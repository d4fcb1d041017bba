"""CISA critical-infrastructure sector slugs, and the aliases clients and feeds use for them."""

from __future__ import annotations

SECTORS: tuple[str, ...] = (
    "chemical",
    "commercial-facilities",
    "communications",
    "critical-manufacturing",
    "dams",
    "defense-industrial-base",
    "emergency-services",
    "energy",
    "financial-services",
    "food-and-agriculture",
    "government-facilities",
    "healthcare",
    "information-technology",
    "nuclear",
    "transportation",
    "water",
)

SECTOR_ALIASES: dict[str, str] = {
    "finance": "financial-services",
    "financial": "financial-services",
    "banking": "financial-services",
    "it": "information-technology",
    "tech": "information-technology",
    "healthcare-and-public-health": "healthcare",
    "health": "healthcare",
    "hph": "healthcare",
    "water-and-wastewater": "water",
    "water-and-wastewater-systems": "water",
    "nuclear-reactors-materials-and-waste": "nuclear",
    "nuclear-reactors": "nuclear",
    "transportation-systems": "transportation",
    "government": "government-facilities",
    "defense": "defense-industrial-base",
    "dib": "defense-industrial-base",
    "food": "food-and-agriculture",
    "agriculture": "food-and-agriculture",
    "manufacturing": "critical-manufacturing",
    "telecommunications": "communications",
    "telecom": "communications",
}

# Bit positions for the indicators.industries_mask column (one bit per sector, stable order).
SECTOR_BITS: dict[str, int] = {slug: 1 << i for i, slug in enumerate(SECTORS)}


def normalize_sector(name: str) -> str | None:
    """The canonical slug for a sector name or alias, or None if it names no sector."""
    key = name.strip().lower().replace("_", "-").replace(" ", "-").replace("&", "and")
    if key in SECTOR_BITS:
        return key
    return SECTOR_ALIASES.get(key)


def sectors_mask(slugs: list[str] | tuple[str, ...]) -> int:
    mask = 0
    for slug in slugs:
        mask |= SECTOR_BITS[slug]
    return mask
