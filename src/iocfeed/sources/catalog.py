"""The source catalog: which feeds exist, where they live, how to read them and how often.

A catalog is TOML with one `[[source]]` table per source (see `sources.toml`, bundled, for every
field with comments). iocfeed reads the bundled catalog, then the operator's file named by
IOCFEED_SOURCES: an operator entry with the name of a bundled one replaces it field by field (so
`enabled = true` alone switches a bundled source on), a new name adds a source.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from iocfeed.errors import ConfigError
from iocfeed.indicators.types import IndicatorType, parse_type
from iocfeed.sectors import normalize_sector
from iocfeed.sources.records import ReaderOptions

CATEGORIES = ("government", "commercial", "community")
ORIGINS = ("feed", "article")
DEFAULT_RELIABILITY = {"government": 85, "commercial": 75, "community": 60}
_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}


@dataclass(frozen=True, slots=True)
class SourceDefinition:
    name: str
    category: str
    format: str
    url: str  # http(s):// or file:// ; a bare path is a local file relative to the catalog
    origin: str = "feed"
    reliability: int | None = None
    schedule_seconds: int = 3_600
    enabled: bool = True
    description: str = ""
    auth_header: str | None = None  # header name, e.g. "Auth-Key" or "X-OTX-API-KEY"
    auth_env: str | None = None  # environment variable holding its value
    auth_required: bool = False  # without the value the source is skipped (else sent when present)
    type: IndicatorType | None = None
    industries: tuple[str, ...] = ()
    static_tags: tuple[str, ...] = ()
    type_map: Mapping[str, str] = field(default_factory=dict)
    strip_port: bool = False
    tags_separator: str = ","
    reader: ReaderOptions = field(default_factory=ReaderOptions)
    zip_member: str | None = None

    @property
    def effective_reliability(self) -> int:
        return self.reliability if self.reliability is not None else DEFAULT_RELIABILITY[self.category]

    def auth_value(self, environ: Mapping[str, str]) -> str | None:
        return environ.get(self.auth_env) if self.auth_env else None

    def missing_auth(self, environ: Mapping[str, str]) -> str | None:
        """Why this source cannot run for lack of a credential, or None."""
        if self.auth_required and self.auth_env and not environ.get(self.auth_env):
            return (
                f"{self.name} needs an API key: set {self.auth_env} (sent as the {self.auth_header} header)"
            )
        return None


def parse_interval(text: str | int) -> int:
    """'15m' -> 900. Plain integers are seconds."""
    if isinstance(text, int):
        seconds = text
    else:
        match = _INTERVAL.match(text)
        if not match:
            raise ConfigError(f"schedule {text!r} is not an interval like 30m, 6h or 1d")
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < 60:
        raise ConfigError("a schedule shorter than a minute would hammer the source")
    return seconds


def bundled_catalog_path() -> Path:
    return Path(str(resources.files("iocfeed.sources") / "sources.toml"))


def load_catalog(
    operator_file: Path | None = None, *, include_bundled: bool = True
) -> list[SourceDefinition]:
    """The bundled catalog merged with the operator's file, in declaration order."""
    entries: dict[str, dict[str, Any]] = {}
    bases: dict[str, Path] = {}
    paths = ([bundled_catalog_path()] if include_bundled else []) + ([operator_file] if operator_file else [])
    for path in paths:
        for raw in _read(path).get("source", []):
            if not isinstance(raw, dict) or "name" not in raw:
                raise ConfigError(f"{path}: every [[source]] needs a name")
            merged = {**entries.get(raw["name"], {}), **raw}
            entries[raw["name"]] = merged
            bases[raw["name"]] = path.parent
    return [_definition(entry, bases[name]) for name, entry in entries.items()]


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read source catalog {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"source catalog {path}: {exc}") from exc


_KNOWN_KEYS = {f.name for f in fields(SourceDefinition)} | {"schedule", "reliability", "reader", "mapping"}


def _definition(entry: dict[str, Any], base: Path) -> SourceDefinition:
    name = entry["name"]
    unknown = set(entry) - _KNOWN_KEYS - {"schedule_seconds"}
    if unknown:
        raise ConfigError(f"source {name!r}: unknown fields {sorted(unknown)}")
    category = entry.get("category")
    if category not in CATEGORIES:
        raise ConfigError(f"source {name!r}: category must be one of {', '.join(CATEGORIES)}")
    origin = entry.get("origin", "feed")
    if origin not in ORIGINS:
        raise ConfigError(f"source {name!r}: origin must be feed or article")
    reliability = entry.get("reliability")
    if reliability is not None and not (isinstance(reliability, int) and 0 <= reliability <= 100):
        raise ConfigError(f"source {name!r}: reliability must be 0..100")
    url = entry.get("url", "")
    if not url:
        raise ConfigError(f"source {name!r}: needs a url (http(s)://, file:// or a path)")
    if "://" not in url:
        url = (base / url).resolve().as_uri()
    fixed_type = None
    if entry.get("type"):
        fixed_type = parse_type(entry["type"])
        if fixed_type is None:
            raise ConfigError(f"source {name!r}: unknown type {entry['type']!r}")
    industries = []
    for sector in entry.get("industries", []):
        slug = normalize_sector(sector)
        if slug is None:
            raise ConfigError(f"source {name!r}: {sector!r} is not a CISA sector")
        industries.append(slug)
    reader = entry.get("reader", {})
    options = ReaderOptions(
        columns=dict(reader.get("columns", {})),
        fieldnames=tuple(reader["fieldnames"]) if reader.get("fieldnames") else None,
        records=reader.get("records"),
    )
    extra = {k: v for k, v in reader.items() if k not in ("columns", "fieldnames", "records")}
    if extra:
        known_reader = {f.name for f in fields(ReaderOptions)}
        bad = set(extra) - known_reader
        if bad:
            raise ConfigError(f"source {name!r}: unknown reader options {sorted(bad)}")
        options = replace(options, **extra)
    mapping = entry.get("mapping", {})
    return SourceDefinition(
        name=name,
        category=category,
        format=entry.get("format", "txt"),
        url=url,
        origin=origin,
        reliability=reliability,
        schedule_seconds=parse_interval(entry.get("schedule", "1h")),
        enabled=bool(entry.get("enabled", True)),
        description=entry.get("description", ""),
        auth_header=entry.get("auth_header"),
        auth_env=entry.get("auth_env"),
        auth_required=bool(entry.get("auth_required", False)),
        type=fixed_type,
        industries=tuple(industries),
        static_tags=tuple(mapping.get("static_tags", entry.get("static_tags", []))),
        type_map=dict(mapping.get("type_map", {})),
        strip_port=bool(mapping.get("strip_port", False)),
        tags_separator=mapping.get("tags_separator", ","),
        reader=options,
        zip_member=entry.get("zip_member"),
    )


def find(definitions: list[SourceDefinition], names: list[str]) -> list[SourceDefinition]:
    by_name = {d.name.lower(): d for d in definitions}
    missing = [n for n in names if n.lower() not in by_name]
    if missing:
        raise ConfigError(
            f"no source named {', '.join(map(repr, missing))}; known: {', '.join(d.name for d in definitions)}"
        )
    return [by_name[n.lower()] for n in names]
