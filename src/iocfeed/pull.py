"""`iocfeed pull`: keep a firewall's blocklist current from a cron job.

    IOCFEED_KEY=sk_live_... iocfeed pull --server URL --key-env IOCFEED_KEY --state pull.json \\
        --format txt --type ipv4 > blocklist.txt

The state file holds the whole current blocklist and the delta position, so each run asks the server
only for what changed, applies additions and removals (expired, revoked, false-positive, or no longer
in the requested confidence), and writes the complete list. If the server cannot be reached, the last
known list is written instead and the exit code says so: a shell redirect has already emptied the
output file, and an empty blocklist is worse than a stale one.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

import httpx

from iocfeed.client import BlocklistEntry, ClientError, FeedClient, FilterValue, StateFileError, SyncState

PULL_FORMATS = ("txt", "csv", "json")
# The server's own csv columns, so a pulled csv reads like an exported one.
CSV_COLUMNS = (
    "id", "type", "value", "confidence", "first_seen", "last_seen",
    "source_article", "source_feed", "category", "tags",
)  # fmt: skip
EXIT_OK = 0
EXIT_STALE = 1  # the refresh failed; the last known list (if there is one) was written
EXIT_USAGE = 2  # bad arguments or no key in the environment


@dataclass(frozen=True, slots=True)
class PullSummary:
    added: int
    removed: int
    total: int
    sync_since: str | None
    full_resync: bool

    def describe(self) -> str:
        kind = "full listing" if self.full_resync else "delta"
        return f"{self.added} added, {self.removed} removed, {self.total} total ({kind}, sync_since {self.sync_since})"


def pull(
    server: str,
    key: str,
    state_path: str | os.PathLike[str],
    fmt: str,
    out: TextIO,
    *,
    timeout: float = 30.0,
    transport: httpx.BaseTransport | None = None,
    **filters: FilterValue,
) -> PullSummary:
    """Bring the blocklist in `state_path` up to date, write all of it to `out`, then save the state.

    Filters are the API's (`type`, `confidence`, `min_confidence`, `category`, `industry`). Raises
    ClientError (server, network) or StateFileError before anything is written to `out`.
    """
    if fmt not in PULL_FORMATS:
        raise ValueError(f"format must be one of {', '.join(PULL_FORMATS)}")
    state = SyncState.load(state_path)
    if state.blocklist is None:  # a state without the list (or none yet): start from a full listing
        state = SyncState(blocklist={})
    before = set(state.blocklist or {})
    with FeedClient(server, key, timeout=timeout, transport=transport) as client:
        result = client.sync(state, **filters)
    current = state.blocklist or {}
    write_blocklist(current.values(), fmt, out)
    out.flush()
    # Saved after the output: if saving fails, the next run replays this delta, which is harmless.
    state.save(state_path)
    return PullSummary(
        added=len(set(current) - before),
        removed=len(before - set(current)),
        total=len(current),
        sync_since=result.sync_since,
        full_resync=result.full_resync,
    )


def write_blocklist(entries: Iterable[BlocklistEntry], fmt: str, out: TextIO) -> None:
    """The whole list, sorted so that an unchanged feed gives a byte-identical file."""
    ordered = sorted(entries, key=lambda e: (e.type, e.value, e.id))
    if fmt == "txt":
        out.writelines(f"{value}\n" for value in sorted({e.value for e in ordered}))
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for e in ordered:
            writer.writerow(
                (
                    e.id, e.type, _csv_safe(e.value), e.confidence, e.first_seen, e.last_seen,
                    _csv_safe(e.source_article), _csv_safe(e.source_feed), e.category,
                    _csv_safe(";".join(e.tags)),
                )
            )  # fmt: skip
    elif fmt == "json":
        json.dump({"total": len(ordered), "data": [asdict(e) for e in ordered]}, out, indent=1)
        out.write("\n")
    else:
        raise ValueError(f"format must be one of {', '.join(PULL_FORMATS)}")


def main_pull(
    *,
    server: str,
    key_env: str,
    state: str | os.PathLike[str],
    fmt: str = "txt",
    types: Sequence[str] = (),
    confidence: Sequence[str] = (),
    min_confidence: str | None = None,
    categories: Sequence[str] = (),
    industries: Sequence[str] = (),
    timeout: float = 30.0,
    out: TextIO | None = None,
    err: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """The CLI's entry point: reads the key from the environment variable `key_env`, returns the exit code.

    The blocklist goes to `out` (stdout), the one-line summary or the error to `err` (stderr).
    """
    out = out or sys.stdout
    err = err or sys.stderr
    key = (environ if environ is not None else os.environ).get(key_env, "").strip()
    if not key:
        print(f"iocfeed pull: the environment variable {key_env} is not set or empty", file=err)
        return EXIT_USAGE
    if fmt not in PULL_FORMATS:
        print(f"iocfeed pull: --format must be one of {', '.join(PULL_FORMATS)}", file=err)
        return EXIT_USAGE
    filters: dict[str, FilterValue] = {
        name: value
        for name, value in (
            ("type", types),
            ("confidence", confidence),
            ("min_confidence", min_confidence or ()),
            ("category", categories),
            ("industry", industries),
        )
        if value
    }
    try:
        summary = pull(server, key, state, fmt, out, timeout=timeout, **filters)
    except (ClientError, StateFileError, ValueError) as exc:
        print(f"iocfeed pull: {exc}", file=err)
        stale = _write_last_known(state, fmt, out, err)
        return EXIT_USAGE if isinstance(exc, ValueError) else stale
    except OSError as exc:  # writing the list or saving the state; the next run replays the delta
        print(f"iocfeed pull: could not write the list or save the state: {exc}", file=err)
        return EXIT_STALE
    print(f"iocfeed pull: {summary.describe()}", file=err)
    return EXIT_OK


def _write_last_known(state_path: str | os.PathLike[str], fmt: str, out: TextIO, err: TextIO) -> int:
    try:
        last = SyncState.load(state_path).blocklist
    except (OSError, StateFileError):
        last = None
    if last is None or fmt not in PULL_FORMATS:
        print("iocfeed pull: no list written", file=err)
        return EXIT_STALE
    write_blocklist(last.values(), fmt, out)
    print(f"iocfeed pull: wrote the last known list ({len(last)} entries) from {Path(state_path)}", file=err)
    return EXIT_STALE


def _csv_safe(text: str) -> str:
    """A cell starting with = + - @ is prefixed with a quote: feeds are untrusted, analysts open csv in spreadsheets."""
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text
