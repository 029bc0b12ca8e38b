"""The Litestar application factory.

`create_app` takes the settings and the libpq URL of an already-migrated database; starting the
embedded server and migrating are the CLI's job, so the app can also run under any ASGI server
against an external database. The tracking plan loads at start-up: a broken plan stops the app
before it takes traffic.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import swagger_ui
from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

from api.accounts import AuthController, reset_password_page
from api.admin import AdminController
from api.errors import EXCEPTION_HANDLERS
from api.export import ExportController
from api.health import HealthController
from api.ingest import IngestController
from api.me import MeController
from api.posthog_capture import PosthogCaptureController
from api.privacy import PrivacyAdminController, PrivacyMeController
from api.segment import SegmentController
from api.services import DEPENDENCIES, services_lifespan
from everreach.accounts import TokenCodec, signing_key
from everreach.plan import load_plan
from everreach.platform import Settings, configure_logging, libpq_url

# Allocations (net of frees) between two young-generation collections; Python's default is 700.
# The requests in flight together hold thousands of tracked objects (their tasks, futures, lists
# of rows), so at the default the collector ran a collection every ~100 events: 1,980
# collections and 0.31-0.36 s of the API's CPU (6-7 %) per 200,000 events under the ingest
# benchmark's load, each pausing the event loop up to 10 ms (gc callbacks, 2026-11-30). At 50,000
# the same run collected nothing: what a request allocates is freed by reference counting when it
# ends. The older generations keep their default ratios to it.
YOUNG_GENERATION_THRESHOLD = 50_000


@asynccontextmanager
async def freeze_startup_heap(_app: Litestar) -> AsyncIterator[None]:
    """Exclude the objects of start-up (about 210 000: modules, the app, the plan) from garbage
    collection: each full collection scanned them all, stalling the event loop 50-120 ms (measured
    with gc callbacks at 500 single-event requests/s), which was the collector's p99. Then collect
    young objects less often (`YOUNG_GENERATION_THRESHOLD`). Both are the process's settings from
    then on, as the freeze always was. Listed last, it runs once everything else has started."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *gc.get_threshold()[1:])
    yield


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
            PrivacyMeController,
            PrivacyAdminController,
            create_static_files_router(
                path=DOCS_ASSETS, directories=[SWAGGER_UI_FILES], include_in_schema=False
            ),
        ],
        lifespan=[services_lifespan(settings, database_url, plan, tokens), freeze_startup_heap],
        dependencies=DEPENDENCIES,
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
