"""The application factory: `create_app(settings)` builds the Litestar app with its services."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from iocfeed import __version__
from iocfeed.api import articles, docs, feeds, format_exports, health, iocs, keys, lookup, stats
from iocfeed.api.errors import EXCEPTION_HANDLERS
from iocfeed.api.key_cache import KeyCache
from iocfeed.api.limits import RateLimiter
from iocfeed.api.middleware import RequestContextMiddleware
from iocfeed.api.services import Services
from iocfeed.api.stats_cache import StatsCache
from iocfeed.api.stix_export import export_stix
from iocfeed.api.taxii import TAXII_DISCOVERY_ROUTES
from iocfeed.api.taxii_objects import TAXII_OBJECT_ROUTES
from iocfeed.api.totals import TotalCache
from iocfeed.api.ui import ROUTES as UI_ROUTES
from iocfeed.api.usage import FLUSH_INTERVAL_SECONDS, UsageRecorder
from iocfeed.config import Settings, load_settings, load_tiers
from iocfeed.keyring import Keyring, load_or_create_secret
from iocfeed.store.engine import make_engine
from iocfeed.store.feed_reads import FeedReader

log = logging.getLogger(__name__)

DESCRIPTION = (
    "iocfeed serves canonical, scored, deduplicated indicators of compromise to SIEMs, TIPs, "
    "firewalls and EDRs. Every endpoint but the probes and this reference needs an API key."
)


def build_services(settings: Settings) -> Services:
    settings.ensure_home()
    engine = make_engine(settings.effective_database_url)
    read_engine = make_engine(settings.read_database_url) if settings.read_database_url else engine
    secret = load_or_create_secret(settings.secret_path)
    return Services(
        settings=settings,
        engine=engine,
        read_engine=read_engine,
        keyring=Keyring(secret),
        tiers=load_tiers(settings.tiers),
        limiter=RateLimiter(settings.redis_url, settings.redis_prefix),
        usage=UsageRecorder(engine),
        totals=TotalCache(),
        feed=FeedReader(read_engine),
        key_cache=KeyCache(settings.key_cache_seconds),
        stats=StatsCache(),
    )


# A 10,000-row page allocates a few hundred thousand objects. With the default threshold (700) that
# set off a young collection every few hundred rows and a full one every few pages, which walked the
# whole heap: 65 ms pauses, a 10k page at 132 ms worst instead of 60 (measured on the 1M store).
# Objects alive at startup (the app, the caches' holders) are frozen out of collections, and the
# young generation may hold a page's worth before it is collected; a page frees its objects by
# reference counting, so cycles are rare and still collected.
GC_YOUNG_THRESHOLD = 50_000


def settle_garbage_collector() -> None:
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def create_app(settings: Settings | None = None) -> Litestar:
    services = build_services(settings or load_settings())

    @contextlib.asynccontextmanager
    async def flush_usage_periodically(_app: Litestar) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(FLUSH_INTERVAL_SECONDS)
                await asyncio.to_thread(services.usage.flush)

        task = asyncio.create_task(loop())
        settle_garbage_collector()
        try:
            yield
        finally:
            task.cancel()
            await asyncio.to_thread(services.usage.flush)
            services.feed.close()
            services.engine.dispose()
            if services.read_engine is not services.engine:
                services.read_engine.dispose()

    app = Litestar(
        route_handlers=[
            export_stix,
            *TAXII_DISCOVERY_ROUTES,
            *TAXII_OBJECT_ROUTES,
            iocs.list_iocs,
            lookup.search,
            lookup.lookup,
            stats.feed_stats,
            iocs.get_ioc,
            *format_exports.ROUTES,
            feeds.list_feeds,
            keys.list_account_keys,
            keys.create_account_key,
            keys.revoke_account_key,
            keys.key_usage,
            articles.list_articles_handler,
            articles.get_article_handler,
            health.healthz,
            health.readyz,
            docs.openapi_json,
            docs.docs,
            *UI_ROUTES,
        ],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=[flush_usage_periodically],
        openapi_config=OpenAPIConfig(
            title="iocfeed",
            version=__version__,
            description=DESCRIPTION,
            path="/_openapi",
            render_plugins=[JsonRenderPlugin()],
        ),
        compression_config=CompressionConfig(backend="gzip", minimum_size=4096, gzip_compress_level=1),
        debug=False,
    )
    app.state.services = services
    # Route-level middleware never sees requests that match no route (404, 405); wrapping the
    # app's ASGI handler puts the request id, rate-limit headers and usage counting around everything.
    app.asgi_handler = RequestContextMiddleware(app.asgi_handler, services.usage)
    return app
