"""The Litestar application factory.

`create_app` takes the settings and the libpq URL of an already-migrated database; starting the
embedded server and migrating are the CLI's job, so the app can also run under any ASGI server
against an external database. The tracking plan loads at start-up: a broken plan stops the app
before it takes traffic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import swagger_ui
from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from psycopg_pool import AsyncConnectionPool

from api.account_services import accounts_lifespan
from api.accounts import AuthController, reset_password_page
from api.admin import AdminController
from api.errors import EXCEPTION_HANDLERS
from api.export import ExportController
from api.forwarding import forwarder_lifespan
from api.health import HealthController
from api.ingest import IngestController
from api.me import MeController
from api.posthog_capture import PosthogCaptureController
from api.segment import SegmentController
from api.services import Services
from everreach.accounts import TokenCodec, signing_key
from everreach.forwarding import forward_destinations
from everreach.plan import load_plan
from everreach.platform import Settings, build_rate_limiter, configure_logging, libpq_url

DOCS_ASSETS = "/schema-assets"
# Swagger UI 5 (OpenAPI 3.1, which Litestar emits), as shipped by the swagger-ui-py package.
SWAGGER_UI_FILES = Path(swagger_ui.__file__).parent / "static"


def _offline_swagger_ui() -> SwaggerRenderPlugin:
    """Swagger UI from the swagger-ui-py pip package, served by the app itself under
    `DOCS_ASSETS`: /schema renders without internet (Litestar's default UIs load from CDNs)."""
    return SwaggerRenderPlugin(
        js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{DOCS_ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{DOCS_ASSETS}/favicon-32x32.png'>",
    )


def create_app(settings: Settings, database_url: str) -> Litestar:
    """The API bound to `database_url` (libpq form)."""
    plan = load_plan(settings.tracking_plan)
    tokens = TokenCodec(signing_key(settings), settings.access_token_ttl_s)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # autocommit: a collector request is one statement, its own transaction, so there is no
        # BEGIN and COMMIT round trip around it; work of several statements opens a transaction
        # itself (`conn.transaction()`, as everreach.platform.rls and the forwarder do).
        pool = AsyncConnectionPool(
            database_url,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            timeout=settings.db_pool_timeout_s,
            open=False,
            kwargs={"connect_timeout": 3, "autocommit": True},
        )
        await pool.open(wait=False)
        limiter = build_rate_limiter(
            settings.redis_url, settings.rate_limit_events, settings.rate_limit_window_s
        )
        app.state.services = Services(
            settings=settings,
            plan=plan,
            pool=pool,
            limiter=limiter,
            tokens=tokens,
            forward_to=forward_destinations(settings),
        )
        try:
            yield
        finally:
            await limiter.aclose()
            await pool.close()

    return Litestar(
        route_handlers=[
            IngestController,
            HealthController,
            PosthogCaptureController,
            SegmentController,
            AuthController,
            reset_password_page,
            MeController,
            AdminController,
            ExportController,
            create_static_files_router(
                path=DOCS_ASSETS, directories=[SWAGGER_UI_FILES], include_in_schema=False
            ),
        ],
        lifespan=[lifespan, forwarder_lifespan(settings), accounts_lifespan(settings)],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        logging_config=None,  # keep our structured log format (Litestar would replace it)
        openapi_config=OpenAPIConfig(
            title="EverReach analytics API",
            version="0.1.0",
            path="/schema",
            render_plugins=[_offline_swagger_ui()],
        ),
    )


def create_app_from_env() -> Litestar:
    """The app of one worker when `everreach serve --workers N` runs several processes.

    uvicorn imports this factory in each worker; the parent has already resolved (and, for the
    embedded server, started) the database and put its URL in EVERREACH_DATABASE_URL.
    """
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    if not settings.database_url:
        raise RuntimeError("EVERREACH_DATABASE_URL must be set for worker processes")
    return create_app(settings, libpq_url(settings.database_url))
