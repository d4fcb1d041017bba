"""The `iocfeed` command: a thin shell over the library that turns errors into clean messages."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from iocfeed.articles import article_from_file
from iocfeed.config import Settings, load_settings, load_tiers
from iocfeed.errors import IocfeedError
from iocfeed.indicators.types import ALL_TYPES, parse_type
from iocfeed.keyring import Keyring, load_or_create_secret
from iocfeed.pipeline import IngestResult, RecordMapping, ingest_records
from iocfeed.scoring import DEFAULT_RELIABILITY
from iocfeed.sectors import SECTORS, normalize_sector
from iocfeed.sources.files import FORMATS, guess_format, read_file
from iocfeed.sources.records import ReaderOptions
from iocfeed.store.catalog import SourceSpec
from iocfeed.store.engine import make_engine
from iocfeed.store.migrate import current_revision, head_revision, upgrade
from iocfeed.timeutil import format_us

app = typer.Typer(
    help="iocfeed: a self-hosted threat-intelligence feed.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
accounts_app = typer.Typer(help="Accounts (each has a tier).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys of an account.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")

P = ParamSpec("P")
R = TypeVar("R")
out = Console()
err = Console(stderr=True)


class Category(StrEnum):
    government = "government"
    commercial = "commercial"
    community = "community"


def clean_errors(function: Callable[P, R]) -> Callable[P, R]:
    """iocfeed's own errors end a command with a one-line message and exit status 1, not a traceback."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except IocfeedError as exc:
            fail(exc.message)

    return wrapper


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def settings_from_env() -> Settings:
    return load_settings()


def open_store(settings: Settings) -> Engine:
    """The engine, with the schema created on a fresh database and checked on an existing one."""
    settings.ensure_home()
    engine = make_engine(settings.effective_database_url)
    current = current_revision(engine)
    if current is None:
        upgrade(engine)
    elif current != head_revision():
        fail(
            f"the database schema is at {current}, this iocfeed needs {head_revision()}: run `iocfeed db upgrade`"
        )
    return engine


def keyring_for(settings: Settings) -> Keyring:
    return Keyring(load_or_create_secret(settings.secret_path))


@db_app.command("upgrade")
@clean_errors
def db_upgrade() -> None:
    """Create the schema or migrate it to the latest version."""
    settings = settings_from_env()
    settings.ensure_home()
    engine = make_engine(settings.effective_database_url)
    before = current_revision(engine)
    upgrade(engine)
    out.print(f"database schema: {before or 'empty'} -> {current_revision(engine)}")


@db_app.command("current")
@clean_errors
def db_current() -> None:
    """Show the schema version of the database."""
    engine = make_engine(settings_from_env().effective_database_url)
    out.print(f"current: {current_revision(engine) or 'empty'}; latest: {head_revision()}")


@app.command("import")
@clean_errors
def import_file(
    file: Annotated[
        Path, typer.Argument(help="txt, csv or json file (.gz accepted)", exists=True, dir_okay=False)
    ],
    source: Annotated[str, typer.Option(help="source (feed) name shown to clients")],
    category: Annotated[Category, typer.Option(help="the source's category")],
    fmt: Annotated[
        str | None, typer.Option("--format", help=f"one of {', '.join(FORMATS)}; default: guessed")
    ] = None,
    type_: Annotated[
        str | None, typer.Option("--type", help=f"every value is this type: {', '.join(ALL_TYPES)}")
    ] = None,
    industry: Annotated[
        list[str] | None, typer.Option(help="CISA sector slug for every value (repeatable)")
    ] = None,
    reliability: Annotated[
        int | None, typer.Option(min=0, max=100, help="0-100; default by category")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Import indicators from a file through the same path as the feeds."""
    settings = settings_from_env()
    # A .txt file is a list (one value per line); only HTML and Markdown are read as prose by default.
    fmt = (
        fmt or (_kind_from_suffix(file.name) if file.suffix.lower() != ".txt" else None) or guess_format(file)
    )
    fmt = {"md": "markdown"}.get(fmt, fmt)
    if fmt not in FORMATS and fmt not in PROSE_FORMATS:
        fail(f"--format must be one of {', '.join((*FORMATS, 'html', 'markdown', 'text'))}")
    fixed_type = None
    if type_ is not None:
        fixed_type = parse_type(type_)
        if fixed_type is None:
            fail(f"--type must be one of {', '.join(ALL_TYPES)}")
    sectors = []
    for name in industry or []:
        slug = normalize_sector(name)
        if slug is None:
            fail(f"--industry {name!r} is not a CISA sector; use one of {', '.join(SECTORS)}")
        sectors.append(slug)
    engine = open_store(settings)
    prose = fmt in PROSE_FORMATS
    spec = SourceSpec(
        name=source.strip(),
        category=category.value,
        reliability=reliability if reliability is not None else DEFAULT_RELIABILITY[category.value],
        origin="article" if prose else "feed",
        format=fmt,
    )
    mapping = RecordMapping(fixed_type=fixed_type, industries=tuple(sorted(set(sectors))))
    records = [article_from_file(file, fmt)] if prose else read_file(file, fmt, ReaderOptions())
    screener = _screener(settings)
    if as_json:
        result = ingest_records(engine, settings, spec, records, mapping, screener=screener)
        out.print_json(json.dumps(_result_json(result)))
    else:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed} rows"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task(f"importing {file.name}", total=None)
            result = ingest_records(
                engine,
                settings,
                spec,
                records,
                mapping,
                screener=screener,
                on_progress=lambda n: progress.update(task, completed=n),
            )
        _print_result(result)
    if result.error:
        raise typer.Exit(1)


def _result_json(result: IngestResult) -> dict[str, object]:
    return {
        "source": result.source,
        "run_id": result.run_id,
        "parsed": result.parsed,
        "accepted": result.accepted,
        "new": result.counts.new,
        "updated": result.counts.updated,
        "unchanged": result.counts.unchanged,
        "rejected": result.rejected,
        "skipped": result.skipped,
        "articles": result.articles,
        "rejections": [
            {"location": r.location, "value": r.value, "reason": r.reason} for r in result.rejections
        ],
        "error": result.error,
    }


def _print_result(result: IngestResult, show_rejections: int = 50) -> None:
    table = Table(title=f"{result.source} (run {result.run_id})", show_header=True)
    for column in ("parsed", "new", "updated", "unchanged", "rejected"):
        table.add_column(column, justify="right")
    counts = result.counts
    table.add_row(
        *(str(n) for n in (result.parsed, counts.new, counts.updated, counts.unchanged, result.rejected))
    )
    out.print(table)
    for rejection in result.rejections[:show_rejections]:
        out.print(
            f"  rejected {rejection.location}: {rejection.value!r}: {rejection.reason}",
            highlight=False,
            soft_wrap=True,
        )
    if result.rejected > show_rejections:
        out.print(
            f"  ... and {result.rejected - show_rejections} more rejected rows (use --json for the list)"
        )
    if result.error:
        err.print(f"[red]error:[/red] {result.error}", highlight=False)


@accounts_app.command("create")
@clean_errors
def accounts_create(
    name: Annotated[str, typer.Argument(help="account name")],
    tier: Annotated[str, typer.Option(help="free, pro, internal, or a tier from IOCFEED_TIERS")] = "free",
) -> None:
    """Create an account."""
    from iocfeed.store.accounts import create_account

    settings = settings_from_env()
    load_tiers(settings.tiers).get(tier)
    account = create_account(open_store(settings), name, tier)
    out.print(f"account {account.name} ({account.id}) created on the {account.tier} tier")


@accounts_app.command("list")
@clean_errors
def accounts_list() -> None:
    """List accounts."""
    from iocfeed.store.accounts import list_accounts

    with open_store(settings_from_env()).connect() as connection:
        for account in list_accounts(connection):
            out.print(
                f"{account.id}  {account.name}  tier={account.tier}  created={format_us(account.created_at)}"
            )


@keys_app.command("create")
@clean_errors
def keys_create(
    account: Annotated[str, typer.Argument(help="account name or id")],
    name: Annotated[str, typer.Option(help="what the key is for, e.g. 'splunk-prod'")],
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, help="the key stops working after this many days")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Mint a key. It is printed once and cannot be shown again."""
    from iocfeed.keys import mint_key
    from iocfeed.store.accounts import find_account

    settings = settings_from_env()
    engine = open_store(settings)
    with engine.connect() as connection:
        owner = find_account(connection, account)
    minted = mint_key(
        engine,
        keyring_for(settings),
        load_tiers(settings.tiers),
        owner,
        name=name,
        expires_in_days=expires_in_days,
    )
    if as_json:
        out.print_json(json.dumps({"key": minted.key, **_key_json(minted.record)}))
    else:
        out.print(
            f"key id {minted.record.id} for account {owner.name}; store this key now, it is not shown again:"
        )
        print(minted.key)


def _key_json(record) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        "id": record.id,
        "name": record.name,
        "prefix": record.prefix,
        "created_at": format_us(record.created_at),
        "expires_at": format_us(record.expires_at),
        "revoked_at": format_us(record.revoked_at),
        "last_used_at": format_us(record.last_used_at),
    }


@keys_app.command("list")
@clean_errors
def keys_list(
    account: Annotated[str, typer.Argument(help="account name or id")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List an account's keys (prefixes only; keys themselves are never stored)."""
    from iocfeed.store.accounts import find_account, list_keys

    with open_store(settings_from_env()).connect() as connection:
        owner = find_account(connection, account)
        records = list_keys(connection, owner.id)
    if as_json:
        out.print_json(json.dumps([_key_json(r) for r in records]))
        return
    table = Table(title=f"keys of {owner.name} ({owner.tier})")
    for column in ("id", "name", "prefix", "created", "expires", "revoked", "last used"):
        table.add_column(column)
    for r in records:
        table.add_row(
            r.id,
            r.name,
            r.prefix + "…",
            format_us(r.created_at),
            format_us(r.expires_at) or "-",
            format_us(r.revoked_at) or "-",
            format_us(r.last_used_at) or "-",
        )
    out.print(table)


@keys_app.command("revoke")
@clean_errors
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="the key's id (key_...)")],
    reason: Annotated[str | None, typer.Option(help="why, for the record")] = None,
) -> None:
    """Revoke a key; it stops working on its next request."""
    from iocfeed.store.accounts import revoke_key

    record = revoke_key(open_store(settings_from_env()), key_id, reason)
    out.print(f"key {record.id} revoked at {format_us(record.revoked_at)}")


def _catalog(settings: Settings):  # type: ignore[no-untyped-def]
    from iocfeed.sources.catalog import load_catalog

    return load_catalog(settings.sources)


def _ingestor(settings: Settings, engine: Engine, on_progress=None):  # type: ignore[no-untyped-def]
    import os

    from iocfeed.ingest import Ingestor

    return Ingestor(engine, settings, os.environ, screener=_screener(settings), on_progress=on_progress)


def _screener(settings: Settings):  # type: ignore[no-untyped-def]
    from iocfeed.indicators.screen import Screener

    lines: list[str] = []
    if settings.allowlist is not None:
        try:
            lines = settings.allowlist.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            fail(f"cannot read the allow-list {settings.allowlist}: {exc.strerror or exc}")
    return Screener.default(lines)


@app.command("sources")
@clean_errors
def sources_list() -> None:
    """List the source catalog (bundled plus IOCFEED_SOURCES) with each source's last run."""
    from iocfeed.store.catalog import list_sources

    settings = settings_from_env()
    definitions = _catalog(settings)
    with open_store(settings).connect() as connection:
        state = {row.name: row for row in list_sources(connection)}
    table = Table(title="sources")
    for column in (
        "name",
        "category",
        "origin",
        "format",
        "every",
        "enabled",
        "health",
        "last run",
        "indicators",
    ):
        table.add_column(column)
    for d in definitions:
        row = state.get(d.name)
        table.add_row(
            d.name,
            d.category,
            d.origin,
            d.format,
            _interval(d.schedule_seconds),
            "yes" if d.enabled else "no",
            row.health if row else "-",
            format_us(row.last_run_at) if row and row.last_run_at else "never",
            str(row.indicator_count) if row else "0",
        )
    out.print(table)


def _interval(seconds: int) -> str:
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@app.command("ingest")
@clean_errors
def ingest(
    names: Annotated[list[str] | None, typer.Argument(help="source names (see `iocfeed sources`)")] = None,
    all_sources: Annotated[bool, typer.Option("--all", help="every enabled source")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the outcomes as JSON")] = False,
) -> None:
    """Fetch and ingest sources now (a disabled source runs when named)."""
    from iocfeed.sources.catalog import find

    settings = settings_from_env()
    definitions = _catalog(settings)
    if all_sources:
        chosen = [d for d in definitions if d.enabled]
    elif names:
        chosen = find(definitions, names)
    else:
        fail("name the sources to ingest, or pass --all")
    engine = open_store(settings)
    outcomes = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} rows"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=as_json,
    ) as progress:
        tasks: dict[str, object] = {}

        def on_progress(name: str, rows: int) -> None:
            progress.update(tasks[name], completed=rows)  # type: ignore[arg-type]

        ingestor = _ingestor(settings, engine, on_progress)
        for definition in chosen:
            tasks[definition.name] = progress.add_task(definition.name, total=None)
            outcomes.append(ingestor.run(definition))
            progress.update(tasks[definition.name], visible=False)  # type: ignore[arg-type]
    if as_json:
        out.print_json(
            json.dumps(
                [
                    {
                        "source": o.name,
                        "status": o.status,
                        "message": o.message,
                        "seconds": round(o.seconds, 2),
                        **({"run": _result_json(o.result)} if o.result else {}),
                    }
                    for o in outcomes
                ]
            )
        )
    else:
        table = Table(title="ingest")
        for column in ("source", "status", "new", "updated", "unchanged", "rejected", "seconds", "message"):
            table.add_column(column)
        for o in outcomes:
            c = o.result.counts if o.result else None
            table.add_row(
                o.name,
                o.status,
                *(
                    str(x)
                    for x in (
                        (c.new, c.updated, c.unchanged, o.result.rejected) if c and o.result else ("-",) * 4
                    )
                ),
                f"{o.seconds:.1f}",
                o.message,
            )
        out.print(table)
    if any(o.status == "failed" for o in outcomes):
        raise typer.Exit(1)


@app.command("scheduler")
@clean_errors
def scheduler(
    workers: Annotated[int, typer.Option(min=1, max=16, help="sources fetched at once")] = 4,
) -> None:
    """Run every enabled source on its schedule, and apply age decay hourly, until stopped."""
    import signal
    import threading

    from iocfeed.scheduler import Scheduler

    settings = settings_from_env()
    engine = open_store(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    Scheduler(engine, _ingestor(settings, engine), _catalog(settings), workers=workers).run_forever(stop)


@app.command("rescore")
@clean_errors
def rescore() -> None:
    """Apply age decay now; updated_at moves only where a band or status changed."""
    from iocfeed.store.lock import ingest_lock
    from iocfeed.store.rescore import rescore_all

    engine = open_store(settings_from_env())
    with ingest_lock(engine):
        counts = rescore_all(engine)
    out.print(
        f"examined {counts.examined}; {counts.changed} changed band or status; "
        f"{counts.rescored} changed score only"
    )


PROSE_FORMATS = {"html": "html", "markdown": "markdown", "md": "markdown", "text": "text"}


@app.command("extract")
@clean_errors
def extract_command(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="text, HTML or Markdown files; stdin when none", exists=True, dir_okay=False),
    ] = None,
    with_context: Annotated[
        bool, typer.Option("--with-context", help="add offsets and the sentence")
    ] = False,
    content_type: Annotated[
        str | None, typer.Option("--as", help="text, html or markdown (default: detected)")
    ] = None,
) -> None:
    """Print the indicators in text, one JSON object per line, each once, in canonical form."""
    from iocfeed.indicators.extract import extract, to_json_line

    if content_type is not None and content_type not in PROSE_FORMATS:
        fail("--as must be text, html or markdown")
    kind = PROSE_FORMATS.get(content_type or "")
    inputs = [(str(path), _read_prose(path)) for path in files] if files else [("-", sys.stdin.read())]
    seen: set[tuple[str, str]] = set()
    for name, text_ in inputs:
        detected = kind or _kind_from_suffix(name)
        for item in extract(text_, detected):
            key = (item.type.value, item.value)
            if key in seen:
                continue
            seen.add(key)
            line = to_json_line(item, with_context)
            if with_context and len(inputs) > 1:
                line = line[:-1] + f", {json.dumps('file')}: {json.dumps(name)}}}"
            print(line)


def _read_prose(path: Path) -> str:
    from iocfeed.sources.files import open_text

    with open_text(path) as stream:
        return stream.read()


def _kind_from_suffix(name: str) -> str | None:
    suffix = Path(name).suffix.lower()
    return {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown", ".txt": "text"}.get(
        suffix
    )


@app.command("screen")
@clean_errors
def screen(
    value: Annotated[str, typer.Argument(help="any indicator, defanged or not")],
    type_: Annotated[
        str | None, typer.Option("--type", help="its type, when detection would guess wrong")
    ] = None,
) -> None:
    """Explain whether a value is screened as a false positive, and by which list."""
    from iocfeed.indicators import canonicalize_any

    settings = settings_from_env()
    hint = None
    if type_ is not None:
        hint = parse_type(type_)
        if hint is None:
            fail(f"--type must be one of {', '.join(ALL_TYPES)}")
    canonical = canonicalize_any(value, hint)
    explanation = _screener(settings).explain(canonical.type.value, canonical.value)
    out.print(explanation.as_text(), highlight=False, soft_wrap=True)


@app.command("pull")
def pull_command(
    server: Annotated[str, typer.Option(help="the iocfeed server, e.g. https://iocfeed.example.org")],
    key_env: Annotated[
        str, typer.Option(help="environment variable holding the API key (never the key itself)")
    ],
    state: Annotated[Path, typer.Option(help="state file: sync position and the current list")],
    fmt: Annotated[str, typer.Option("--format", help="txt, csv or json")] = "txt",
    types: Annotated[list[str] | None, typer.Option("--type", help="indicator type (repeatable)")] = None,
    confidence: Annotated[list[str] | None, typer.Option(help="confidence band (repeatable)")] = None,
    min_confidence: Annotated[str | None, typer.Option(help="low, medium or high")] = None,
    categories: Annotated[
        list[str] | None, typer.Option("--category", help="source category (repeatable)")
    ] = None,
    industries: Annotated[
        list[str] | None, typer.Option("--industry", help="CISA sector (repeatable)")
    ] = None,
    timeout: Annotated[float, typer.Option(help="seconds per request")] = 30.0,
) -> None:
    """Keep a blocklist current for a firewall's cron job: applies additions and removals, prints the
    whole list (e.g. `iocfeed pull ... > blocklist.tmp && mv blocklist.tmp blocklist.txt`)."""
    from iocfeed.pull import main_pull

    raise typer.Exit(
        main_pull(
            server=server,
            key_env=key_env,
            state=state,
            fmt=fmt,
            types=types or [],
            confidence=confidence or [],
            min_confidence=min_confidence,
            categories=categories or [],
            industries=industries or [],
            timeout=timeout,
        )
    )


@app.command("serve")
@clean_errors
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
    proxy_ips: Annotated[
        str, typer.Option(help="reverse proxies whose X-Forwarded-* headers are trusted (comma list, or *)")
    ] = "127.0.0.1",
) -> None:
    """Serve the HTTP API."""
    import uvicorn

    settings = settings_from_env()
    open_store(settings)  # fail here, readably, rather than in every worker
    uvicorn.run(
        "iocfeed.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips=proxy_ips,
    )


@app.command("demo")
@clean_errors
def demo(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="serve when set up")] = True,
) -> None:
    """Set up the embedded demo (database, bundled sample feeds, a pro key) and serve it."""
    from iocfeed.demo import DEMO_ACCOUNT, import_demo
    from iocfeed.keys import mint_key
    from iocfeed.store.accounts import count_active_keys, create_account, find_account
    from iocfeed.timeutil import now_us

    settings = settings_from_env()
    engine = open_store(settings)
    out.print(f"data directory: {settings.home}")
    results = import_demo(engine, settings)
    total_new = sum(r.counts.new for r in results)
    rejected = sum(r.rejected for r in results)
    out.print(f"demo feeds: {len(results)} imported, {total_new} new indicators, {rejected} rows rejected")
    with engine.connect() as connection:
        try:
            account = find_account(connection, DEMO_ACCOUNT)
            active = count_active_keys(connection, account.id, now_us())
        except IocfeedError:
            account, active = None, 0
    if account is None:
        account = create_account(engine, DEMO_ACCOUNT, "pro")
    if active == 0:
        minted = mint_key(engine, keyring_for(settings), load_tiers(settings.tiers), account, name="demo")
        out.print("\n[bold]Your API key (shown once; keep it):[/bold]")
        print(minted.key, flush=True)
        key_hint = minted.key
    else:
        out.print(
            f"\nThe demo account already has a key (printed on first run). A new one: "
            f"iocfeed keys create {DEMO_ACCOUNT} --name another"
        )
        key_hint = "sk_live_YOUR_KEY"
    out.print(
        f'\nTry:  curl -H "Authorization: Bearer {key_hint}" '
        f'"http://{host}:{port}/api/v1/iocs?type=ipv4&confidence=high&limit=100"\n',
        highlight=False,
        soft_wrap=True,
    )
    if serve_after:
        serve(host=host, port=port, workers=1, proxy_ips="127.0.0.1")


def main() -> None:
    settings = None
    try:
        settings = settings_from_env()
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        app()
    except IocfeedError as exc:
        err.print(f"[red]error:[/red] {exc.message}", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
