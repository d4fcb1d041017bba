"""indexes for status=all sorted by first_seen or last_seen

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 03:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_indicators_first_seen", "indicators", ["first_seen", "pk"])
    op.create_index("ix_indicators_last_seen", "indicators", ["last_seen", "pk"])


def downgrade() -> None:
    op.drop_index("ix_indicators_last_seen", table_name="indicators")
    op.drop_index("ix_indicators_first_seen", table_name="indicators")
