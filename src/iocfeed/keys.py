"""Minting API keys: a random key, shown once; only its keyed hash is stored."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from iocfeed.config import TierTable
from iocfeed.errors import ConfigError
from iocfeed.keyring import SHOWN_PREFIX_LENGTH, Keyring, generate_key
from iocfeed.store.accounts import Account, KeyRecord, create_key
from iocfeed.timeutil import MICROS_PER_DAY, now_us

MAX_EXPIRY_DAYS = 3_650


@dataclass(frozen=True, slots=True)
class MintedKey:
    key: str  # the only time the key exists in clear
    record: KeyRecord


def mint_key(
    engine: Engine,
    keyring: Keyring,
    tiers: TierTable,
    account: Account,
    *,
    name: str,
    expires_in_days: int | None = None,
) -> MintedKey:
    name = name.strip()
    if not name or len(name) > 200:
        raise ConfigError("a key needs a name of 1 to 200 characters")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise ConfigError(f"expires_in_days must be between 1 and {MAX_EXPIRY_DAYS}")
    tier = tiers.get(account.tier)
    key = generate_key()
    expires_at = now_us() + expires_in_days * MICROS_PER_DAY if expires_in_days else None
    record = create_key(
        engine,
        account.id,
        name=name,
        key_hash=keyring.hash_key(key),
        prefix=key[:SHOWN_PREFIX_LENGTH],
        expires_at=expires_at,
        quota=tier.key_quota,
    )
    return MintedKey(key, record)
