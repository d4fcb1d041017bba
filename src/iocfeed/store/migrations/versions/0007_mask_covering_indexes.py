"""indicators: the category and industry masks ride on the two updated_at keyset indexes

A page filtered by category or industry alone walks (status, updated_at, pk) or (updated_at, pk)
and checks each row's masks; with the masks in the index entry, non-matching rows cost no table
read. Same name, wider index: dropped and created again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 06:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

MASKS = ["categories_mask", "industries_mask"]


def upgrade() -> None:
    op.drop_index("ix_indicators_updated", table_name="indicators")
    op.create_index("ix_indicators_updated", "indicators", ["updated_at", "pk", *MASKS])
    op.drop_index("ix_indicators_status_updated", table_name="indicators")
    op.create_index("ix_indicators_status_updated", "indicators", ["status", "updated_at", "pk", *MASKS])


def downgrade() -> None:
    op.drop_index("ix_indicators_status_updated", table_name="indicators")
    op.create_index("ix_indicators_status_updated", "indicators", ["status", "updated_at", "pk"])
    op.drop_index("ix_indicators_updated", table_name="indicators")
    op.create_index("ix_indicators_updated", "indicators", ["updated_at", "pk"])
