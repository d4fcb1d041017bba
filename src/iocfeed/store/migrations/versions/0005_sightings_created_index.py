"""sightings: index (created_at, source_id) for per-source activity over recent days

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 04:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sightings_created_source", "sightings", ["created_at", "source_id"])


def downgrade() -> None:
    op.drop_index("ix_sightings_created_source", table_name="sightings")
