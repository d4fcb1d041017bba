"""The bundled demo data: sample files in the formats of real public feeds, read per its manifest.

`src/iocfeed/demo/manifest.toml` names each file, the source it stands for and how to read it.
Dates in the files are shifted by (today - reference_date), so the demo always looks recent.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

from sqlalchemy import Engine

from iocfeed.articles import article_from_file
from iocfeed.config import Settings
from iocfeed.errors import ConfigError
from iocfeed.indicators.types import parse_type
from iocfeed.pipeline import IngestResult, RecordMapping, ingest_records
from iocfeed.scoring import DEFAULT_RELIABILITY
from iocfeed.sectors import normalize_sector
from iocfeed.sources.files import read_file
from iocfeed.sources.records import ReaderOptions
from iocfeed.store.catalog import SourceSpec
from iocfeed.timeutil import MICROS_PER_DAY

DEMO_ACCOUNT = "demo"
ARTICLE_FILE_FORMATS = ("html", "markdown")  # a whole advisory: one article, its indicators extracted


@dataclass(frozen=True, slots=True)
class DemoFeed:
    path: Path
    spec: SourceSpec
    format: str
    options: ReaderOptions
    mapping: RecordMapping


def demo_directory() -> Path:
    return Path(str(resources.files("iocfeed.demo")))


def load_manifest(directory: Path | None = None, today: date | None = None) -> list[DemoFeed]:
    directory = directory or demo_directory()
    manifest = tomllib.loads((directory / "manifest.toml").read_text(encoding="utf-8"))
    reference = date.fromisoformat(manifest["reference_date"])
    shift_us = ((today or datetime.now(UTC).date()) - reference).days * MICROS_PER_DAY
    return [_feed(directory, entry, shift_us) for entry in manifest["feed"]]


def _feed(directory: Path, entry: dict, shift_us: int) -> DemoFeed:
    category = entry["category"]
    fixed_type = parse_type(entry["type"]) if entry.get("type") else None
    industries = tuple(slug for name in entry.get("industries", []) if (slug := normalize_sector(name)))
    if len(industries) != len(entry.get("industries", [])):
        raise ConfigError(f"demo manifest: unknown sector in {entry['industries']}")
    spec = SourceSpec(
        name=entry["source"],
        category=category,
        reliability=entry.get("reliability", DEFAULT_RELIABILITY[category]),
        origin=entry.get("origin", "feed"),
        format=entry["format"],
        url=entry.get("url"),
    )
    options = ReaderOptions(
        columns=dict(entry.get("columns", {})),
        fieldnames=tuple(entry["fieldnames"]) if entry.get("fieldnames") else None,
        records=entry.get("records"),
    )
    mapping = RecordMapping(
        fixed_type=fixed_type,
        type_map=dict(entry.get("type_map", {})),
        strip_port=entry.get("strip_port", False),
        tags_separator=entry.get("tags_separator", ","),
        static_tags=tuple(entry.get("static_tags", [])),
        industries=industries,
        time_shift_us=shift_us,
    )
    return DemoFeed(directory / entry["file"], spec, entry["format"], options, mapping)


def import_demo(
    engine: Engine,
    settings: Settings,
    on_feed: Callable[[DemoFeed, IngestResult], None] | None = None,
) -> list[IngestResult]:
    results = []
    for feed in load_manifest():
        items = (
            [article_from_file(feed.path, feed.format)]
            if feed.format in ARTICLE_FILE_FORMATS
            else read_file(feed.path, feed.format, feed.options)
        )
        result = ingest_records(engine, settings, feed.spec, items, feed.mapping)
        results.append(result)
        if on_feed:
            on_feed(feed, result)
    return results
