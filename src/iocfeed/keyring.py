"""The server secret and what it signs: API key hashes and paging cursors.

The secret is 32 random bytes in `$IOCFEED_HOME/secret.key`, created on first use with mode 0600.
API keys are stored only as HMAC-SHA256(secret, key): a leaked database does not leak keys, and a
lookup is one indexed equality (a slow password hash such as argon2 would cost ~100 ms a request).
Every API host of one deployment must share the same secret file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from iocfeed.errors import ConfigError

KEY_PREFIX = "sk_live_"
KEY_RANDOM_BYTES = 32  # 43 URL-safe characters after the prefix
MIN_KEY_RANDOM_CHARS = 32
SHOWN_PREFIX_LENGTH = 12  # "sk_live_" and four characters: enough to recognise a key in a list
_KEY_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def load_or_create_secret(path: Path) -> bytes:
    """Read the server secret, creating it (mode 0600, atomically) if it does not exist yet."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = secrets.token_bytes(32)
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(fresh)
        try:
            os.link(temp, path)  # fails if another process created it first: then use theirs
        except FileExistsError:
            pass
        finally:
            temp.unlink()
        data = path.read_bytes()
    if len(data) < 32:
        raise ConfigError(f"server secret {path} is shorter than 32 bytes")
    return data


class Keyring:
    """Derives independent HMAC keys from the server secret, one per purpose."""

    def __init__(self, secret: bytes) -> None:
        self._key_hash_key = hmac.new(secret, b"iocfeed api key hash v1", hashlib.sha256).digest()
        self._cursor_key = hmac.new(secret, b"iocfeed cursor v1", hashlib.sha256).digest()

    def hash_key(self, key: str) -> str:
        return hmac.new(self._key_hash_key, key.encode(), hashlib.sha256).hexdigest()

    def sign(self, payload: bytes) -> str:
        """payload -> 'base64url(payload).base64url(mac)' (tamper-evident, not secret)."""
        mac = hmac.new(self._cursor_key, payload, hashlib.sha256).digest()[:16]
        return f"{_b64(payload)}.{_b64(mac)}"

    def verify(self, token: str) -> bytes | None:
        """The payload of a token made by `sign`, or None if it was altered or is malformed."""
        body, _, mac_text = token.partition(".")
        try:
            payload = _unb64(body)
            mac = _unb64(mac_text)
        except ValueError:
            return None
        expected = hmac.new(self._cursor_key, payload, hashlib.sha256).digest()[:16]
        return payload if hmac.compare_digest(mac, expected) else None


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(KEY_RANDOM_BYTES)


def looks_like_key(key: str) -> bool:
    """Shape check before any lookup: prefix, length, URL-safe alphabet."""
    if not key.startswith(KEY_PREFIX):
        return False
    rest = key[len(KEY_PREFIX) :]
    return len(rest) >= MIN_KEY_RANDOM_CHARS and len(rest) <= 256 and set(rest) <= _KEY_ALPHABET


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text or len(text) > 4096:
        raise ValueError("bad token")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("bad token") from exc
    if _b64(data) != text:  # base64 lets the last character's spare bits vary; accept one spelling only
        raise ValueError("bad token")
    return data
