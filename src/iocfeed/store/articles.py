"""Articles: the advisories and posts that indicators were extracted from."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, insert, select, update

from iocfeed.errors import NotFound
from iocfeed.store.schema import articles, indicators, sightings, sources
from iocfeed.store.transactions import write_transaction
from iocfeed.store.upsert import decode_list, encode_list
from iocfeed.timeutil import now_us

ARTICLE_NAMESPACE = uuid.UUID("0c8f3a52-7d1e-5b6a-9f20-41e3c6d8a7b9")


def article_uuid(source_id: int, url: str) -> str:
    return str(uuid.uuid5(ARTICLE_NAMESPACE, f"{source_id}|{url}"))


@dataclass(frozen=True, slots=True)
class ArticleRow:
    id: str
    source_id: int
    title: str
    url: str
    published_at: int | None
    created_at: int
    sectors: list[str]
    mitre_techniques: list[str]
    source_name: str = ""
    source_category: str = ""
    indicator_count: int = 0


def known_article_urls(connection: Connection, source_id: int) -> set[str]:
    return {
        row[0] for row in connection.execute(select(articles.c.url).where(articles.c.source_id == source_id))
    }


def upsert_article(
    engine: Engine,
    *,
    source_id: int,
    title: str,
    url: str,
    published_at: int | None,
    sectors: list[str],
    mitre_techniques: list[str],
) -> str:
    article_id = article_uuid(source_id, url)
    values = {
        "title": title[:1000] or url,
        "published_at": published_at,
        "sectors": encode_list(sectors),
        "mitre_techniques": encode_list(mitre_techniques),
    }
    with write_transaction(engine) as connection:
        exists = connection.execute(select(articles.c.id).where(articles.c.id == article_id)).first()
        if exists:
            connection.execute(update(articles).where(articles.c.id == article_id).values(**values))
        else:
            connection.execute(
                insert(articles).values(
                    id=article_id, source_id=source_id, url=url, created_at=now_us(), **values
                )
            )
    return article_id


_COLUMNS = (
    articles.c.id,
    articles.c.source_id,
    articles.c.title,
    articles.c.url,
    articles.c.published_at,
    articles.c.created_at,
    articles.c.sectors,
    articles.c.mitre_techniques,
    sources.c.name,
    sources.c.category,
)


def _row(row, count: int) -> ArticleRow:  # type: ignore[no-untyped-def]
    return ArticleRow(
        row.id,
        row.source_id,
        row.title,
        row.url,
        row.published_at,
        row.created_at,
        decode_list(row.sectors),
        decode_list(row.mitre_techniques),
        row.name,
        row.category,
        count,
    )


def list_articles(
    connection: Connection, *, limit: int, offset: int, source: str | None = None
) -> tuple[list[ArticleRow], int]:
    """Newest first (by publication, then by when we stored it), with their indicator counts."""
    joined = articles.join(sources, sources.c.id == articles.c.source_id)
    statement = select(*_COLUMNS).select_from(joined)
    count = select(func.count()).select_from(joined)
    if source is not None:
        statement = statement.where(sources.c.name == source)
        count = count.where(sources.c.name == source)
    order = func.coalesce(articles.c.published_at, articles.c.created_at)
    rows = connection.execute(
        statement.order_by(order.desc(), articles.c.id).limit(limit).offset(offset)
    ).all()
    counts = _indicator_counts(connection, [row.id for row in rows])
    return [_row(row, counts.get(row.id, 0)) for row in rows], connection.execute(count).scalar_one()


def _indicator_counts(connection: Connection, ids: list[str]) -> dict[str, int]:
    if not ids:
        return {}
    statement = (
        select(sightings.c.article_id, func.count(sightings.c.indicator_pk.distinct()))
        .where(sightings.c.article_id.in_(ids))
        .group_by(sightings.c.article_id)
    )
    return dict(connection.execute(statement).all())  # type: ignore[arg-type]


def get_article(connection: Connection, article_id: str) -> tuple[ArticleRow, list[str]]:
    """The article and the ids of the indicators extracted from it."""
    row = connection.execute(
        select(*_COLUMNS)
        .select_from(articles.join(sources, sources.c.id == articles.c.source_id))
        .where(articles.c.id == article_id)
    ).first()
    if row is None:
        raise NotFound(f"no article with id {article_id!r}")
    ids = [
        r[0]
        for r in connection.execute(
            select(indicators.c.id)
            .select_from(sightings.join(indicators, indicators.c.pk == sightings.c.indicator_pk))
            .where(sightings.c.article_id == article_id)
            .order_by(indicators.c.type, indicators.c.value)
        )
    ]
    return _row(row, len(ids)), ids
