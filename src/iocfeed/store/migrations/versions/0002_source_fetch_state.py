"""source fetch state: HTTP validators, body digest, incremental cursor, last status

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("etag", sa.Text()),
    ("last_modified", sa.Text()),
    ("content_digest", sa.String(length=64)),
    ("cursor", sa.Text()),
    ("last_status", sa.String(length=20)),
    ("last_accepted", sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch_op:
        for name, type_ in _COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch_op:
        for name, _ in reversed(_COLUMNS):
            batch_op.drop_column(name)
