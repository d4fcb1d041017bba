"""usage: a latency histogram per key and day

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_COLUMNS = (
    "latency_le_10",
    "latency_le_25",
    "latency_le_50",
    "latency_le_100",
    "latency_le_250",
    "latency_le_1000",
    "latency_gt_1000",
)


def upgrade() -> None:
    with op.batch_alter_table("usage") as batch_op:
        for name in _COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("usage") as batch_op:
        for name in reversed(_COLUMNS):
            batch_op.drop_column(name)
