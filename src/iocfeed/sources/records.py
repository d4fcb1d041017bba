"""The raw record every reader yields: text fields exactly as the source wrote them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Our field names, which a reader's column mapping maps the source's columns (or keys) onto.
RECORD_FIELDS: tuple[str, ...] = (
    "value",
    "type",
    "first_seen",
    "last_seen",
    "tags",
    "context",
    "industries",
    "reference_url",
    "mitre_techniques",
)


@dataclass(slots=True)
class RawRecord:
    location: str  # where in the input, for error reports: "line 12" or "item 5"
    value: object  # usually a string; anything else is rejected downstream with a reason
    type: str | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    tags: str | list[str] | None = None
    context: str | None = None
    industries: str | list[str] | None = None
    reference_url: str | None = None
    mitre_techniques: str | list[str] | None = None  # ATT&CK ids the source attaches to the value
    error: str | None = None  # the reader could not make sense of this row; why


@dataclass(slots=True)
class RawArticle:
    """An advisory or post (an RSS/Atom entry): the pipeline extracts its indicators from `content`,
    and, with `fetch_page`, from the page at `url` as well."""

    location: str
    title: str
    url: str
    published: str | None = None  # as the feed wrote it (RFC 822 or ISO 8601)
    content: str = ""
    content_type: str = "html"  # html | markdown | text
    fetch_page: bool = False
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ReaderOptions:
    """How to find our fields in a source's rows.

    columns: our field -> the source's column (CSV) or key (JSON); unmapped fields use their own name.
    fieldnames: CSV column names when the header row is itself a comment line (abuse.ch style).
    records: JSON only, the key of the record array inside a top-level object.
    """

    columns: Mapping[str, str] = field(default_factory=dict)
    fieldnames: tuple[str, ...] | None = None
    records: str | None = None

    def column_for(self, field_name: str) -> str:
        return self.columns.get(field_name, field_name)


def record_from_mapping(location: str, row: Mapping[str, object], options: ReaderOptions) -> RawRecord:
    """Pick our fields out of a CSV row or JSON object; missing fields stay None."""
    values: dict[str, object] = {}
    for name in RECORD_FIELDS:
        raw = row.get(options.column_for(name))
        if raw is None or raw == "":
            continue
        values[name] = raw
    value = values.pop("value", "")
    return RawRecord(location, value, **values)  # type: ignore[arg-type]
