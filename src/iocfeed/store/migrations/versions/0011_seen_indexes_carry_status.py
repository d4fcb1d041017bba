"""indicators: one index per seen order, status on the entry; article index only for articles

The first_seen and last_seen orders had two indexes each, (seen, pk) for status=all and
(status, seen, pk) for one status. Feeds date their rows across weeks, so new indicators land all
over these trees, and each write batch rewrote their pages: the two status-prefixed copies cost a
million-row SQLite ingest 10 s of its 30 s of writing (measured without the rest of the pipeline).
Now (seen, pk, status) serves both: a status filter is checked on the index entry, so pages still
come in index order and no table row is read for an entry of another status.

Sightings of feeds have no article; the article index now holds only the rows that have one (a
lookup by article_id implies it is not null, so both backends still use it).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_HAS_ARTICLE = sa.text("article_id IS NOT NULL")


def upgrade() -> None:
    for seen in ("first_seen", "last_seen"):
        op.drop_index(f"ix_indicators_status_{seen}", table_name="indicators")
        op.drop_index(f"ix_indicators_{seen}", table_name="indicators")
        op.create_index(f"ix_indicators_{seen}", "indicators", [seen, "pk", "status"])
    op.drop_index("ix_sightings_article", table_name="sightings")
    op.create_index(
        "ix_sightings_article",
        "sightings",
        ["article_id"],
        sqlite_where=_HAS_ARTICLE,
        postgresql_where=_HAS_ARTICLE,
    )


def downgrade() -> None:
    op.drop_index("ix_sightings_article", table_name="sightings")
    op.create_index("ix_sightings_article", "sightings", ["article_id"])
    for seen in ("first_seen", "last_seen"):
        op.drop_index(f"ix_indicators_{seen}", table_name="indicators")
        op.create_index(f"ix_indicators_{seen}", "indicators", [seen, "pk"])
        op.create_index(f"ix_indicators_status_{seen}", "indicators", ["status", seen, "pk"])
