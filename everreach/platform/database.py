"""Which Postgres we talk to, and the URL forms each client needs.

There is one store, Postgres, reached either through `EVERREACH_DATABASE_URL` (production, CI) or
through the embedded server under `EVERREACH_HOME` (the default). Callers ask `open_database` for a
`Database` and never care which of the two they got.

Different clients want different spellings of the same URL: psycopg wants plain libpq
(`postgresql://`), SQLAlchemy/Alembic want `postgresql+psycopg://`, and dagster-postgres (on
SQLAlchemy 2.1) wants `postgresql+psycopg2://`. `Database` hands out each form.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from everreach.platform.embedded_postgres import EmbeddedServer, start_embedded
from everreach.platform.settings import Settings

APP_DATABASE = "everreach"


def libpq_url(url: str | URL) -> str:
    """The URL without a SQLAlchemy driver suffix, as psycopg and psql accept it."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def with_driver(url: str | URL, driver: str) -> str:
    """The URL for a SQLAlchemy driver: `psycopg` (Alembic) or `psycopg2` (dagster-postgres)."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.set(drivername=f"postgresql+{driver}").render_as_string(hide_password=False)


def with_database(url: str | URL, name: str) -> str:
    """The same server with another database name."""
    parsed = make_url(url) if isinstance(url, str) else url
    return libpq_url(parsed.set(database=name))


@contextlib.contextmanager
def analytics_connection(url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection for the analytics queries: SQL models, label metrics, dataset
    days, checks, exports. Callers open transactions where they need one.

    JIT compilation is off on it. Postgres compiles each partition's expressions separately, and
    a label over 30 days of `app_events` (one partition per day) crossed `jit_above_cost`. It then
    compiled 449 functions in 5.7 s, for a query that runs in 2.0 s without JIT (EXPLAIN ANALYZE of
    dwell_ms on 1 M events). These queries are scans, joins and aggregates that JIT barely
    speeds up even when they are large.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET jit = off")
        yield conn


def ensure_database(server_url: str, name: str) -> None:
    """Create database `name` on the server of `server_url` if it does not exist yet.

    Safe when several processes start at once (two `everreach worker`s and the demo): the ones
    that lose the race get DuplicateDatabase, or a unique violation on the catalog when the
    creations overlap, and both mean the database is there.
    """
    maintenance = with_database(server_url, "postgres")
    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            with contextlib.suppress(
                psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation
            ):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(server_url: str, name: str) -> None:
    """Drop database `name`, disconnecting its sessions (test clean-up)."""
    maintenance = with_database(server_url, "postgres")
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@dataclass
class Database:
    """A resolved application database, plus the embedded server behind it if there is one."""

    url: str
    embedded: EmbeddedServer | None = field(default=None)

    @property
    def is_embedded(self) -> bool:
        return self.embedded is not None

    def sibling(self, name: str) -> str:
        """A libpq URL for another database on the same server (e.g. Dagster's storage)."""
        ensure_database(self.url, name)
        return with_database(self.url, name)

    def close(self) -> None:
        """Let go of the embedded server (it stops when no other live process holds it)."""
        if self.embedded is not None:
            self.embedded.stop()


def open_database(settings: Settings) -> Database:
    """Resolve the configured database, starting the embedded server when none is configured."""
    if settings.database_url:
        return Database(url=libpq_url(settings.database_url))
    server = start_embedded(settings.pgdata_dir)
    ensure_database(server.uri, APP_DATABASE)
    return Database(url=with_database(server.uri, APP_DATABASE), embedded=server)


@contextlib.contextmanager
def database_session(settings: Settings) -> Iterator[Database]:
    """`open_database` for the length of a command; the embedded server stops cleanly after."""
    database = open_database(settings)
    try:
        yield database
    finally:
        database.close()
