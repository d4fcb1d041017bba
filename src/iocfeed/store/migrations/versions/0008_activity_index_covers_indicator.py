"""sightings: the per-source activity index also carries indicator_pk

The console's sparklines count distinct indicators per source and day (an advisory source has a
sighting per article, so counting sightings overstated them); with indicator_pk in the index entry
the count stays one covering range scan.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 07:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_sightings_created_source", table_name="sightings")
    op.create_index("ix_sightings_created_source", "sightings", ["created_at", "source_id", "indicator_pk"])


def downgrade() -> None:
    op.drop_index("ix_sightings_created_source", table_name="sightings")
    op.create_index("ix_sightings_created_source", "sightings", ["created_at", "source_id"])
