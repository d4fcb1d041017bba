"""Small fixed vocabularies of the store and their compact encodings."""

from __future__ import annotations

CATEGORIES: tuple[str, ...] = ("government", "commercial", "community")
CATEGORY_BITS: dict[str, int] = {"government": 1, "commercial": 2, "community": 4}
ORIGINS: tuple[str, ...] = ("feed", "article")

STATUSES: tuple[str, ...] = ("active", "expired", "false-positive", "revoked")
CONFIDENCES: tuple[str, ...] = ("high", "medium", "low")

# The best-source column of an indicator row for each category.
BEST_SIGHTING_COLUMN: dict[str, str] = {
    "government": "best_government_sighting",
    "commercial": "best_commercial_sighting",
    "community": "best_community_sighting",
}


def categories_mask(categories: list[str] | tuple[str, ...] | set[str]) -> int:
    mask = 0
    for category in categories:
        mask |= CATEGORY_BITS[category]
    return mask
