"""Accounts, their API keys, and per-key usage counters."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from iocfeed.errors import ConfigError, NotFound, QuotaExceeded
from iocfeed.store.schema import LATENCY_COLUMNS, accounts, api_keys, usage
from iocfeed.store.transactions import write_transaction
from iocfeed.timeutil import now_us


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    tier: str
    created_at: int


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: str
    account_id: str
    name: str
    prefix: str
    created_at: int
    expires_at: int | None
    revoked_at: int | None
    revoked_reason: str | None
    last_used_at: int | None

    def is_active(self, now: int) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True, slots=True)
class KeyOwner:
    """What authentication needs to know about a presented key."""

    key_id: str
    account_id: str
    account_name: str
    tier: str
    expires_at: int | None
    revoked_at: int | None


@dataclass(frozen=True, slots=True)
class UsageDelta:
    key_id: str
    day: str
    requests: int
    ok: int
    client_errors: int
    rate_limited: int
    server_errors: int
    latency_ms_total: int
    latency_histogram: tuple[int, ...] = (0,) * len(LATENCY_COLUMNS)  # counts per LATENCY_COLUMNS


@dataclass(frozen=True, slots=True)
class UsageDay:
    day: str
    requests: int
    ok: int
    client_errors: int
    rate_limited: int
    server_errors: int
    latency_ms_total: int
    latency_histogram: tuple[int, ...]


def create_account(engine: Engine, name: str, tier: str) -> Account:
    name = name.strip()
    if not name:
        raise ConfigError("an account needs a name")
    with write_transaction(engine) as connection:
        if connection.execute(select(accounts.c.id).where(accounts.c.name == name)).first():
            raise ConfigError(f"an account named {name!r} already exists")
        account = Account(f"acc_{uuid.uuid4().hex[:16]}", name, tier, now_us())
        connection.execute(insert(accounts).values(**_fields(account)))
    return account


def _fields(record: object) -> dict[str, object]:
    return {name: getattr(record, name) for name in record.__slots__}  # type: ignore[attr-defined]


def find_account(connection: Connection, name_or_id: str) -> Account:
    row = connection.execute(
        select(accounts).where(or_(accounts.c.name == name_or_id, accounts.c.id == name_or_id))
    ).first()
    if row is None:
        raise NotFound(f"no account named {name_or_id!r}")
    return Account(row.id, row.name, row.tier, row.created_at)


def list_accounts(connection: Connection) -> list[Account]:
    rows = connection.execute(select(accounts).order_by(accounts.c.created_at))
    return [Account(row.id, row.name, row.tier, row.created_at) for row in rows]


def count_active_keys(connection: Connection, account_id: str, now: int) -> int:
    return connection.execute(
        select(func.count())
        .select_from(api_keys)
        .where(
            api_keys.c.account_id == account_id,
            api_keys.c.revoked_at.is_(None),
            or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > now),
        )
    ).scalar_one()


def create_key(
    engine: Engine,
    account_id: str,
    *,
    name: str,
    key_hash: str,
    prefix: str,
    expires_at: int | None,
    quota: int,
) -> KeyRecord:
    """Store a new key's hash; refuses when the account already has `quota` active keys."""
    now = now_us()
    with write_transaction(engine) as connection:
        active = count_active_keys(connection, account_id, now)
        if active >= quota:
            raise QuotaExceeded(
                f"the account already has {active} active keys, the most its tier allows ({quota}); "
                "revoke one first",
                details={"quota": quota, "active": active},
            )
        record = KeyRecord(
            id=f"key_{secrets.token_hex(8)}",
            account_id=account_id,
            name=name,
            prefix=prefix,
            created_at=now,
            expires_at=expires_at,
            revoked_at=None,
            revoked_reason=None,
            last_used_at=None,
        )
        connection.execute(insert(api_keys).values(key_hash=key_hash, **_fields(record)))
    return record


def list_keys(connection: Connection, account_id: str) -> list[KeyRecord]:
    columns = [api_keys.c[name] for name in KeyRecord.__slots__]
    rows = connection.execute(
        select(*columns).where(api_keys.c.account_id == account_id).order_by(api_keys.c.created_at)
    )
    return [KeyRecord(*row) for row in rows]


def get_key(connection: Connection, key_id: str) -> KeyRecord:
    columns = [api_keys.c[name] for name in KeyRecord.__slots__]
    row = connection.execute(select(*columns).where(api_keys.c.id == key_id)).first()
    if row is None:
        raise NotFound(f"no key with id {key_id!r}")
    return KeyRecord(*row)


def revoke_key(engine: Engine, key_id: str, reason: str | None = None) -> KeyRecord:
    with write_transaction(engine) as connection:
        key = get_key(connection, key_id)
        if key.revoked_at is None:
            connection.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id)
                .values(revoked_at=now_us(), revoked_reason=reason or "revoked")
            )
        return get_key(connection, key_id)


def find_key_owner(connection: Connection, key_hash: str) -> KeyOwner | None:
    row = connection.execute(
        select(
            api_keys.c.id,
            api_keys.c.account_id,
            accounts.c.name,
            accounts.c.tier,
            api_keys.c.expires_at,
            api_keys.c.revoked_at,
        )
        .select_from(api_keys.join(accounts, accounts.c.id == api_keys.c.account_id))
        .where(api_keys.c.key_hash == key_hash)
    ).first()
    return KeyOwner(*row) if row else None


def record_usage(engine: Engine, deltas: list[UsageDelta], last_used: dict[str, int]) -> None:
    """Add request counters (one row per key and day) and move keys' last_used_at forward."""
    if not deltas and not last_used:
        return
    with write_transaction(engine) as connection:
        dialect_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        for delta in deltas:
            values = _fields(delta)
            values.update(zip(LATENCY_COLUMNS, values.pop("latency_histogram"), strict=True))
            counters = {name: values[name] for name in values if name not in ("key_id", "day")}
            statement = dialect_insert(usage).values(**values)
            statement = statement.on_conflict_do_update(
                index_elements=[usage.c.key_id, usage.c.day],
                set_={name: usage.c[name] + amount for name, amount in counters.items()},
            )
            connection.execute(statement)
        for key_id, moment in last_used.items():
            connection.execute(
                update(api_keys)
                .where(
                    and_(
                        api_keys.c.id == key_id,
                        or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < moment),
                    )
                )
                .values(last_used_at=moment)
            )


def usage_days(connection: Connection, key_id: str, since_day: str) -> list[UsageDay]:
    """The key's counters per day from `since_day` (YYYY-MM-DD) on, oldest first."""
    rows = connection.execute(
        select(usage).where(usage.c.key_id == key_id, usage.c.day >= since_day).order_by(usage.c.day)
    ).mappings()
    return [
        UsageDay(
            day=row["day"],
            requests=row["requests"],
            ok=row["ok"],
            client_errors=row["client_errors"],
            rate_limited=row["rate_limited"],
            server_errors=row["server_errors"],
            latency_ms_total=row["latency_ms_total"],
            latency_histogram=tuple(row[name] for name in LATENCY_COLUMNS),
        )
        for row in rows
    ]
