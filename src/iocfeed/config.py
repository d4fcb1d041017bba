"""Settings, read once at the edge (environment `IOCFEED_*`) and passed in; and the tier table.

Nothing else in iocfeed reads the environment. The CLI and the app factory build one `Settings`
and hand it down.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from iocfeed.errors import ConfigError

LIST_FORMATS = ("json", "ndjson", "csv", "txt")


class Settings(BaseSettings):
    """Process-wide settings. Secrets are never part of `repr`."""

    model_config = SettingsConfigDict(env_prefix="IOCFEED_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".local" / "share" / "iocfeed")
    database_url: str | None = None
    # An optional read replica; queries of the feed go there when set.
    read_database_url: str | None = None
    redis_url: str | None = Field(default=None, repr=False)
    # Prefix of every Redis key iocfeed writes (several deployments, or tests, can share one Redis).
    redis_prefix: str = "iocfeed"
    tiers: Path | None = None
    # The operator's source catalog, merged over the bundled one (iocfeed.sources.catalog).
    sources: Path | None = None
    # The operator's allow-list: values, CIDR ranges or *.domains never to publish as malicious.
    allowlist: Path | None = None
    # Re-listing by a feed moves a sighting's last_seen only when it is at least this much newer,
    # so that polling a feed every few minutes does not churn the delta for every client.
    last_seen_granularity_seconds: int = 86_400
    # Rows written per transaction by imports and ingestion (a batch: a crash leaves the database
    # as it was before the batch it hit). Each transaction rewrites every page of the random-key
    # indexes it touched, so larger batches write less per row; the pipeline hands a batch to its
    # writer in chunks of 10,000, so Python's memory does not grow with it (measured in README).
    batch_size: int = 100_000
    log_level: str = "INFO"
    # How long a worker may trust an API key lookup; a revocation made elsewhere takes effect within it.
    key_cache_seconds: float = 5.0

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'iocfeed.db'}"

    @property
    def secret_path(self) -> Path:
        return self.home / "secret.key"

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home


@dataclass(frozen=True, slots=True)
class Tier:
    """What an account's keys may do. `None` for a rate means unlimited."""

    name: str
    requests_per_minute: int | None
    requests_per_day: int | None
    max_limit: int
    lookback_days: int
    formats: tuple[str, ...]
    exports: bool
    key_quota: int
    max_export: int = 0  # indicators in one export (STIX, MISP, CEF, OpenIOC, Sigma) response

    def allows_format(self, fmt: str) -> bool:
        return fmt in self.formats


DEFAULT_TIERS: dict[str, Tier] = {
    "free": Tier("free", 10, 1_000, 100, 1, ("json",), False, 3, 0),
    "pro": Tier("pro", 1_000, 1_000_000, 10_000, 365, LIST_FORMATS, True, 50, 100_000),
    # For the operator's own tools and for benchmarks: no rate limits, pro's caps, every feature.
    "internal": Tier("internal", None, None, 10_000, 365, LIST_FORMATS, True, 50, 1_000_000),
}

# The order in which tiers include one another, for "needs at least tier X" messages.
TIER_ORDER = ("free", "pro", "internal")


@dataclass(frozen=True, slots=True)
class TierTable:
    tiers: dict[str, Tier] = field(default_factory=lambda: dict(DEFAULT_TIERS))

    def get(self, name: str) -> Tier:
        try:
            return self.tiers[name]
        except KeyError:
            raise ConfigError(f"unknown tier {name!r}; known: {', '.join(self.tiers)}") from None

    def names(self) -> list[str]:
        return list(self.tiers)


def load_tiers(path: Path | None) -> TierTable:
    """The default tiers, overridden field by field by the TOML file at `path` (if any)."""
    if path is None:
        return TierTable()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read tiers file {path}: {exc}") from exc
    tiers = dict(DEFAULT_TIERS)
    known = {f.name for f in fields(Tier)} - {"name"}
    for name, overrides in data.items():
        if not isinstance(overrides, dict):
            raise ConfigError(f"tiers file {path}: [{name}] must be a table")
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"tiers file {path}: [{name}] has unknown fields {sorted(unknown)}")
        base = tiers.get(name) or replace(DEFAULT_TIERS["free"], name=name)
        values = dict(overrides)
        if "formats" in values:
            bad = set(values["formats"]) - set(LIST_FORMATS)
            if bad:
                raise ConfigError(f"tiers file {path}: [{name}] formats {sorted(bad)} are not list formats")
            values["formats"] = tuple(values["formats"])
        for rate in ("requests_per_minute", "requests_per_day"):
            if values.get(rate) == 0:
                values[rate] = None  # 0 in a config file reads naturally as "no limit"
        tiers[name] = replace(base, **values)
    return TierTable(tiers)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; keyword overrides win (tests and CLI flags use them)."""
    settings = Settings(**overrides)  # type: ignore[arg-type]
    if settings.home != settings.home.expanduser():
        settings = settings.model_copy(update={"home": settings.home.expanduser()})
    return settings


def running_under_ci() -> bool:
    """CI sets CI=true; there, a test that would skip for a missing server must fail instead."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}
