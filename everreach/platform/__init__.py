"""What every domain stands on: settings, the database (embedded or external), migrations,
logs, metrics, problem details, UTC day windows, row-level-security sessions and rate limits.

It imports no other `everreach` package: the domains build on it, never the reverse.
"""

from everreach.platform.database import (
    APP_DATABASE,
    Database,
    analytics_connection,
    database_session,
    ensure_database,
    libpq_url,
    open_database,
    with_database,
    with_driver,
)
from everreach.platform.days import days_window, window_days
from everreach.platform.embedded_postgres import start_embedded
from everreach.platform.logs import configure_logging
from everreach.platform.metrics import INGEST_EVENTS, INGEST_REJECTED_REQUESTS, INGEST_SECONDS
from everreach.platform.migrations import upgrade
from everreach.platform.problems import ClientFault
from everreach.platform.rate_limit import RateLimiter, RateLimiterUnavailable, build_rate_limiter
from everreach.platform.settings import Settings

__all__ = [
    "APP_DATABASE",
    "INGEST_EVENTS",
    "INGEST_REJECTED_REQUESTS",
    "INGEST_SECONDS",
    "ClientFault",
    "Database",
    "RateLimiter",
    "RateLimiterUnavailable",
    "Settings",
    "analytics_connection",
    "build_rate_limiter",
    "configure_logging",
    "database_session",
    "days_window",
    "ensure_database",
    "libpq_url",
    "open_database",
    "start_embedded",
    "upgrade",
    "window_days",
    "with_database",
    "with_driver",
]
