"""A short-lived cache of API key lookups, so a busy key costs one indexed query every few seconds
instead of one per request.

Revocation and expiry are checked on every request against the cached record; what the cache can
delay is only learning of a revocation made elsewhere (another worker, another host, the CLI):
at most `ttl` seconds (IOCFEED_KEY_CACHE_SECONDS, default 5; 0 turns the cache off). A revocation
through this process's own API drops the entry at once.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine

from iocfeed.store.accounts import KeyOwner, find_key_owner

MAX_ENTRIES = 10_000


class KeyCache:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, KeyOwner | None]] = {}
        self._lock = threading.Lock()

    def lookup(self, key_hash: str, engine: Engine) -> KeyOwner | None:
        now = time.monotonic()
        if self.ttl > 0:
            entry = self._entries.get(key_hash)
            if entry is not None and now - entry[0] < self.ttl:
                return entry[1]
        with engine.connect() as connection:
            owner = find_key_owner(connection, key_hash)
        if self.ttl > 0 and owner is not None:  # unknown keys are not cached: guessing costs a query
            with self._lock:
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                self._entries[key_hash] = (now, owner)
        return owner

    def forget(self, key_id: str) -> None:
        with self._lock:
            for key_hash, (_, owner) in list(self._entries.items()):
                if owner is not None and owner.key_id == key_id:
                    del self._entries[key_hash]
