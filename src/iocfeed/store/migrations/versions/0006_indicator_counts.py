"""indicator_counts: exact counts per filter combination, maintained by triggers

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 04:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

GROUP = "status, type, confidence, categories_mask, industries_mask"
MATCH_OLD = " AND ".join(f"{c} = OLD.{c}" for c in GROUP.split(", "))
CHANGED_SQLITE = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in GROUP.split(", "))
CHANGED_PG = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in GROUP.split(", "))
ADD_NEW = (
    f"INSERT INTO indicator_counts ({GROUP}, n) VALUES "
    "(NEW.status, NEW.type, NEW.confidence, NEW.categories_mask, NEW.industries_mask, 1) "
    f"ON CONFLICT ({GROUP}) DO UPDATE SET n = indicator_counts.n + 1"
)
REMOVE_OLD = f"UPDATE indicator_counts SET n = n - 1 WHERE {MATCH_OLD}"


def upgrade() -> None:
    op.create_table(
        "indicator_counts",
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("confidence", sa.String(length=8), nullable=False),
        sa.Column("categories_mask", sa.SmallInteger(), nullable=False),
        sa.Column("industries_mask", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "status", "type", "confidence", "categories_mask", "industries_mask", name="pk_indicator_counts"
        ),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"CREATE TRIGGER indicator_counts_insert AFTER INSERT ON indicators BEGIN {ADD_NEW}; END")
        op.execute(
            f"CREATE TRIGGER indicator_counts_update AFTER UPDATE OF {GROUP} ON indicators "
            f"WHEN {CHANGED_SQLITE} BEGIN {REMOVE_OLD}; {ADD_NEW}; END"
        )
        op.execute(
            f"CREATE TRIGGER indicator_counts_delete AFTER DELETE ON indicators BEGIN {REMOVE_OLD}; END"
        )
    else:
        op.execute(
            "CREATE FUNCTION iocfeed_indicator_counts() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {REMOVE_OLD}; END IF; "
            f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {ADD_NEW}; END IF; "
            "RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER indicator_counts_insert_delete AFTER INSERT OR DELETE ON indicators "
            "FOR EACH ROW EXECUTE FUNCTION iocfeed_indicator_counts()"
        )
        op.execute(
            f"CREATE TRIGGER indicator_counts_update AFTER UPDATE OF {GROUP} ON indicators "
            f"FOR EACH ROW WHEN ({CHANGED_PG}) EXECUTE FUNCTION iocfeed_indicator_counts()"
        )
    op.execute(
        f"INSERT INTO indicator_counts ({GROUP}, n) SELECT {GROUP}, count(*) FROM indicators GROUP BY {GROUP}"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("indicator_counts_insert", "indicator_counts_update", "indicator_counts_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS indicator_counts_insert_delete ON indicators")
        op.execute("DROP TRIGGER IF EXISTS indicator_counts_update ON indicators")
        op.execute("DROP FUNCTION IF EXISTS iocfeed_indicator_counts()")
    op.drop_table("indicator_counts")
