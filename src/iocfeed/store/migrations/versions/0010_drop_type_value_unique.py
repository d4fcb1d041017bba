"""indicators: drop the (type, value) unique constraint; the unique id already implies it

An indicator's id is uuid5 of its type and canonical value, so `UNIQUE (id)` already makes
(type, value) unique, and every lookup by value computes the id and goes through that index
(store.search, store.upsert). The second unique index was a random-key B-tree that every new
indicator paid for: a million-row ingest into SQLite spent 73.6 s writing without the change and
47.4 s with it (its leaf pages, rewritten by every batch, no longer crowd the page cache).

SQLite cannot drop a table constraint, so the table is rebuilt (the documented 12-step way: a copy
without it, the old one dropped, the copy renamed, its indexes and triggers created again). That
needs foreign keys off, which store.migrate arranges for every migration run on SQLite.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 08:00:00
"""

from __future__ import annotations

import re
from collections.abc import Callable

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

CONSTRAINT = "uq_indicators_type_value"
_CONSTRAINT_CLAUSE = re.compile(r",\s*CONSTRAINT uq_indicators_type_value UNIQUE \(type, value\)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite_indicators(_without_constraint)
    else:
        op.drop_constraint(CONSTRAINT, "indicators", type_="unique")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite_indicators(_with_constraint)
    else:
        op.create_unique_constraint(CONSTRAINT, "indicators", ["type", "value"])


def _without_constraint(table_sql: str) -> str:
    rebuilt, found = _CONSTRAINT_CLAUSE.subn("", table_sql)
    if found != 1:
        raise RuntimeError(f"indicators: expected one {CONSTRAINT} clause, found {found}")
    return rebuilt


def _with_constraint(table_sql: str) -> str:
    body = table_sql.rstrip()
    if not body.endswith(")") or CONSTRAINT in body:
        raise RuntimeError(f"indicators: cannot add {CONSTRAINT} to this table definition")
    return f"{body[:-1].rstrip()}, \n\tCONSTRAINT {CONSTRAINT} UNIQUE (type, value)\n)"


def _rebuild_sqlite_indicators(change: Callable[[str], str]) -> None:
    bind = op.get_bind()
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar() != 0:
        # Dropping the old table with foreign keys on would cascade to every sighting.
        raise RuntimeError("rebuilding indicators needs foreign keys off (run it through iocfeed db upgrade)")
    table_sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'indicators'"
    ).scalar_one()
    dependents = (
        bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'indicators' "
            "AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name"
        )
        .scalars()
        .all()
    )
    rebuilt = change(table_sql)
    bind.exec_driver_sql(
        re.sub(r"^CREATE TABLE \"?indicators\"?", "CREATE TABLE indicators_rebuilt", rebuilt)
    )
    bind.exec_driver_sql("INSERT INTO indicators_rebuilt SELECT * FROM indicators")
    bind.exec_driver_sql("DROP TABLE indicators")
    bind.exec_driver_sql("ALTER TABLE indicators_rebuilt RENAME TO indicators")
    for statement in dependents:
        bind.exec_driver_sql(statement)
    broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"indicators rebuild left {len(broken)} foreign key violations")
