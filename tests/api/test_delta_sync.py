"""A delta client loses nothing while ingestion writes: page with next_cursor, poll with sync_since."""

from __future__ import annotations

import random
import threading
import time

from sqlalchemy import select

from iocfeed.sources.records import RawRecord
from iocfeed.store.schema import indicators
from tests.conftest import ingest_values, make_key


def test_client_copy_equals_server_after_concurrent_ingest(live):
    key, _ = make_key(live.settings, live.engine, "internal")
    rng = random.Random(7)
    known: list[str] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for round_number in range(40):
                fresh = [
                    f"{rng.randint(11, 90)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{round_number}"
                    for _ in range(15)
                ]
                relisted = rng.sample(known, min(len(known), 10))  # new sources for old values: updates
                source = f"Feed {round_number % 4}"
                category = ("government", "commercial", "community", "community")[round_number % 4]
                records = [
                    RawRecord(f"line {i}", v, tags=f"round{round_number}")
                    for i, v in enumerate(fresh + relisted)
                ]
                ingest_values(live.engine, live.settings, source, category, records)
                known.extend(fresh)
                time.sleep(0.005)
        except BaseException as exc:  # surfaced by the main thread
            errors.append(exc)
        finally:
            stop.set()

    copy: dict[str, tuple[str, str, int, str]] = {}
    since = None
    polls = 0

    def sync_once() -> str:
        nonlocal polls
        cursor, sync_since = None, None
        while True:
            params = {"limit": 7, "status": "all", "sort": "updated_at"}
            if since:
                params["since"] = since
            if cursor:
                params["cursor"] = cursor
            body = live.client.get("/api/v1/iocs", params=params, headers={"X-API-Key": key}).json()
            for record in body["data"]:
                copy[record["id"]] = (
                    record["value"],
                    record["updated_at"],
                    record["source_count"],
                    ",".join(record["tags"]),
                )
            cursor = body["meta"]["next_cursor"]
            sync_since = body["meta"]["sync_since"]
            if cursor is None:
                polls += 1
                return sync_since

    thread = threading.Thread(target=writer)
    thread.start()
    while not stop.is_set():
        since = sync_once()
    thread.join()
    assert not errors, errors
    since = sync_once()  # one more poll after the writer finished

    with live.engine.connect() as connection:
        server = connection.execute(
            select(
                indicators.c.id,
                indicators.c.value,
                indicators.c.source_count,
                indicators.c.tags,
                indicators.c.updated_at,
            )
        ).all()
    assert polls > 3, "the client must have polled while the writer was writing"
    assert len(server) == len(copy) == len(set(known))
    for row in server:
        value, _updated, source_count, tags = copy[row.id]
        assert value == row.value
        assert source_count == row.source_count, row.value
        assert tags == ",".join(sorted(__import__("json").loads(row.tags)))
