"""The database schema (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Every instant is stored as an integer count of microseconds since the Unix epoch, UTC. Both backends
then compare, sort and index time the same way, exactly, with no time-zone or text-format pitfalls;
`iocfeed.timeutil` converts at the edges.

Identifiers: an indicator has an internal integer key (`pk`, compact for joins and the tie-breaker of
every keyset order) and a public id, the uuid5 of its type and canonical value, so that the same
indicator has the same id on every install and in every export. The unique id is what keeps
(type, value) unique, and what a lookup by value goes through (`store.upsert.indicator_uuid`).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)

# SQLite makes an INTEGER PRIMARY KEY the rowid (fast, auto-assigned); PostgreSQL wants BIGINT.
PrimaryKeyInt = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

sources = Table(
    "sources",
    metadata,
    Column("id", PrimaryKeyInt, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("category", String(20), nullable=False),  # government | commercial | community
    Column("origin", String(10), nullable=False, server_default="feed"),  # feed | article
    Column("reliability", SmallInteger, nullable=False),  # 0..100
    Column("format", String(20)),
    Column("url", Text),
    Column("schedule", String(50)),
    Column("enabled", Boolean, nullable=False, server_default="1"),
    Column("created_at", BigInteger, nullable=False),
    Column("last_run_at", BigInteger),
    Column("last_success_at", BigInteger),
    Column("health", String(10), nullable=False, server_default="unknown"),  # healthy | degraded | error
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    Column("indicator_count", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    # What the fetcher needs to make an unchanged feed cost nothing: HTTP validators, the digest of
    # the last body, and an incremental position for paged sources (TAXII added_after, MISP manifest).
    Column("etag", Text),
    Column("last_modified", Text),
    Column("content_digest", String(64)),
    Column("cursor", Text),
    Column("last_status", String(20)),  # ingested | not_modified | unchanged | degraded | failed | skipped
    Column("last_accepted", Integer),  # rows accepted by the last ingest that stored anything
)

articles = Table(
    "articles",
    metadata,
    Column("id", String(36), primary_key=True),  # uuid5 of source and url
    Column("source_id", ForeignKey("sources.id"), nullable=False),
    Column("title", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("published_at", BigInteger),
    Column("created_at", BigInteger, nullable=False),
    Column("sectors", Text, nullable=False, server_default="[]"),  # JSON array of sector slugs
    Column("mitre_techniques", Text, nullable=False, server_default="[]"),  # JSON array
    UniqueConstraint("source_id", "url"),
)

indicators = Table(
    "indicators",
    metadata,
    Column("pk", PrimaryKeyInt, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("type", String(16), nullable=False),
    Column("value", Text, nullable=False),
    Column("status", String(16), nullable=False),  # active | expired | false-positive | revoked
    Column("status_reason", Text),  # e.g. the warning list that screened it
    # base_score: reliability and corroboration before age decay. Responses compute the score as of
    # their generated_at from it (scoring.decayed_score); `score` is its value at the last write.
    Column("base_score", Float, nullable=False, server_default="0"),
    Column("score", SmallInteger, nullable=False),
    Column("confidence", String(8), nullable=False),  # high | medium | low (the score's band)
    Column("first_seen", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # The server's write clock at the last change a client can see (see store.writer).
    Column("updated_at", BigInteger, nullable=False),
    Column("source_count", Integer, nullable=False),
    Column("categories_mask", SmallInteger, nullable=False),  # bit per source category (store.codes)
    Column("industries_mask", Integer, nullable=False, server_default="0"),  # bit per sector (sectors.py)
    Column("industries", Text, nullable=False, server_default="[]"),  # JSON arrays, derived from sightings
    Column("tags", Text, nullable=False, server_default="[]"),
    Column("mitre_techniques", Text, nullable=False, server_default="[]"),
    Column("context", Text),
    # The most reliable sighting overall and per source category: the `source` object of a record.
    Column("best_sighting", BigInteger),
    Column("best_government_sighting", BigInteger),
    Column("best_commercial_sighting", BigInteger),
    Column("best_community_sighting", BigInteger),
    # (type, value) is unique too, through `id`: it is uuid5 of the two, so a second unique index
    # would only cost every insert a random-key B-tree (migration 0010). Look values up by their id.
)

# Keyset orders: each sort column with pk as the tie-breaker, alone and after the filters that
# narrow most (status is on nearly every query, type next). The two that drive pages filtered by
# category or industry alone carry both masks after the order, so those filters are checked on the
# index entry and only matching rows are read from the table (a 3% sector: 0.84 -> 0.40 ms a page).
MASK_COLUMNS = (indicators.c.categories_mask, indicators.c.industries_mask)
Index("ix_indicators_updated", indicators.c.updated_at, indicators.c.pk, *MASK_COLUMNS)
Index(
    "ix_indicators_status_updated",
    indicators.c.status,
    indicators.c.updated_at,
    indicators.c.pk,
    *MASK_COLUMNS,
)
Index(
    "ix_indicators_status_type_updated",
    indicators.c.status,
    indicators.c.type,
    indicators.c.updated_at,
    indicators.c.pk,
)
# Sorted by first or last seen: one index each, for every status (status=all included). Feeds
# date rows across weeks, so these trees take inserts everywhere and cost a write batch the most;
# with status on the entry a status filter needs no second copy (migration 0011).
Index("ix_indicators_first_seen", indicators.c.first_seen, indicators.c.pk, indicators.c.status)
Index("ix_indicators_last_seen", indicators.c.last_seen, indicators.c.pk, indicators.c.status)
Index(
    "ix_indicators_status_confidence_updated",
    indicators.c.status,
    indicators.c.confidence,
    indicators.c.updated_at,
    indicators.c.pk,
)

sightings = Table(
    "sightings",
    metadata,
    Column("pk", PrimaryKeyInt, primary_key=True, autoincrement=True),
    Column("indicator_pk", ForeignKey("indicators.pk", ondelete="CASCADE"), nullable=False),
    Column("source_id", ForeignKey("sources.id"), nullable=False),
    Column("article_id", ForeignKey("articles.id")),
    Column("first_seen", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("raw_value", Text, nullable=False),  # the value as the source wrote it (defanged, cased, ...)
    Column("context", Text),
    Column("reference_url", Text),
    Column("tags", Text, nullable=False, server_default="[]"),
    Column("industries", Text, nullable=False, server_default="[]"),
    Column("mitre_techniques", Text, nullable=False, server_default="[]"),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
# One sighting per indicator, source and article (no article: the feed itself).
Index(
    "uq_sightings_indicator_source_article",
    sightings.c.indicator_pk,
    sightings.c.source_id,
    func.coalesce(sightings.c.article_id, ""),
    unique=True,
)
Index("ix_sightings_source", sightings.c.source_id)
# Only sightings from articles (feed sightings have none); `article_id = ?` implies it is set.
Index(
    "ix_sightings_article",
    sightings.c.article_id,
    sqlite_where=sightings.c.article_id.is_not(None),
    postgresql_where=sightings.c.article_id.is_not(None),
)
# Per-source activity over recent days (the console's sparklines): a range on created_at, covering.
Index("ix_sightings_created_source", sightings.c.created_at, sightings.c.source_id, sightings.c.indicator_pk)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("tier", String(40), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),  # key_<hex>, safe to show and log
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("prefix", String(20), nullable=False),  # the first characters of the key, to recognise it
    Column("key_hash", String(64), nullable=False, unique=True),  # HMAC-SHA256 under the server secret
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger),
    Column("revoked_at", BigInteger),
    Column("revoked_reason", Text),
    Column("last_used_at", BigInteger),
)
Index("ix_api_keys_account", api_keys.c.account_id)

usage = Table(
    "usage",
    metadata,
    Column("key_id", ForeignKey("api_keys.id"), primary_key=True),
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD, UTC
    Column("requests", Integer, nullable=False, server_default="0"),
    Column("ok", Integer, nullable=False, server_default="0"),
    Column("client_errors", Integer, nullable=False, server_default="0"),
    Column("rate_limited", Integer, nullable=False, server_default="0"),
    Column("server_errors", Integer, nullable=False, server_default="0"),
    Column("latency_ms_total", BigInteger, nullable=False, server_default="0"),
    # A latency histogram (requests answered within each bound, in ms), for percentiles per day.
    *(
        Column(f"latency_le_{bound}", Integer, nullable=False, server_default="0")
        for bound in (10, 25, 50, 100, 250, 1000)
    ),
    Column("latency_gt_1000", Integer, nullable=False, server_default="0"),
)
LATENCY_BOUNDS_MS = (10, 25, 50, 100, 250, 1000)
LATENCY_COLUMNS = (*(f"latency_le_{bound}" for bound in LATENCY_BOUNDS_MS), "latency_gt_1000")

ingest_runs = Table(
    "ingest_runs",
    metadata,
    Column("id", PrimaryKeyInt, primary_key=True, autoincrement=True),
    Column("source_id", ForeignKey("sources.id")),
    Column("kind", String(10), nullable=False),  # import | ingest
    Column("started_at", BigInteger, nullable=False),
    Column("finished_at", BigInteger),
    Column("status", String(10), nullable=False),  # running | success | failed
    Column("parsed", Integer, nullable=False, server_default="0"),
    Column("accepted", Integer, nullable=False, server_default="0"),
    Column("new", Integer, nullable=False, server_default="0"),
    Column("updated", Integer, nullable=False, server_default="0"),
    Column("unchanged", Integer, nullable=False, server_default="0"),
    Column("rejected", Integer, nullable=False, server_default="0"),
    Column("error", Text),
)
Index("ix_ingest_runs_source_started", ingest_runs.c.source_id, ingest_runs.c.started_at)

# How many indicators share each combination of the feed's filter columns, kept exact by database
# triggers on `indicators` (migration 0006), whoever writes. meta.total for filters without `since`
# is a SUM over these few thousand rows instead of a count over millions.
indicator_counts = Table(
    "indicator_counts",
    metadata,
    Column("status", String(16), primary_key=True),
    Column("type", String(16), primary_key=True),
    Column("confidence", String(8), primary_key=True),
    Column("categories_mask", SmallInteger, primary_key=True),
    Column("industries_mask", Integer, primary_key=True),
    Column("n", BigInteger, nullable=False),
)

# One row (id = 1): the write clock of the last committed change batch. Readers take their
# `sync_since` from here; writers lock this row to serialize (store.writer explains why).
sync_state = Table(
    "sync_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("clock", BigInteger, nullable=False),
)
