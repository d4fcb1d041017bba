"""Per-key usage counters reach the usage table; last_used_at moves."""

from sqlalchemy import select

from iocfeed.store.schema import api_keys, usage
from tests.conftest import make_key


def test_usage_is_counted_per_key_and_day(live):
    key, key_id = make_key(live.settings, live.engine, "free")
    for _ in range(3):
        live.get("/api/v1/iocs", key=key)
    live.get("/api/v1/iocs", key=key, limit="x")
    for _ in range(8):
        live.get(
            "/api/v1/iocs", key=key
        )  # the 400 counts too: the last two are over the free tier's 10 a minute
    live.client.app.state.services.usage.flush()
    with live.engine.connect() as connection:
        row = connection.execute(select(usage).where(usage.c.key_id == key_id)).one()
        last_used = connection.execute(
            select(api_keys.c.last_used_at).where(api_keys.c.id == key_id)
        ).scalar()
    assert (row.requests, row.ok, row.client_errors, row.rate_limited, row.server_errors) == (12, 9, 1, 2, 0)
    assert last_used is not None
    live.get("/api/v1/iocs", key=key)
    live.client.app.state.services.usage.flush()
    with live.engine.connect() as connection:
        assert connection.execute(select(usage.c.requests).where(usage.c.key_id == key_id)).scalar() == 13
