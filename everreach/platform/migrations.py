"""Apply the Alembic migrations in `migrations/` to a database (`everreach migrate`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command, op
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from everreach.platform.database import drop_database, ensure_database, with_database, with_driver

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
SQL_DIR = MIGRATIONS_DIR / "sql"


def run_sql_file(name: str) -> None:
    """Execute `migrations/sql/<name>` inside a revision: migrations keep their SQL in files.

    The raw psycopg connection runs a parameterless multi-statement script as it is (no `%`
    interpolation), inside the transaction Alembic opened for the revision.
    """
    script = (SQL_DIR / name).read_text(encoding="utf-8")
    op.get_bind().connection.driver_connection.execute(script)


def _config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = with_driver(url, "psycopg")
    return config


def current_revisions(url: str) -> set[str]:
    """The revisions the database is at (empty before the first migration)."""
    engine = create_engine(with_driver(url, "psycopg"))
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def upgrade(url: str, target: str = "heads") -> list[str]:
    """Bring the database to `target` (every head by default); return the revisions applied now
    (idempotent). Tests pass an older revision to build a database as an earlier release left it.
    """
    config = _config(url)
    before = current_revisions(url)
    command.upgrade(config, target)
    script = ScriptDirectory.from_config(config)
    after = current_revisions(url)
    applied: list[str] = []
    for head in after:
        for revision in script.iterate_revisions(head, "base"):
            if revision.revision in before:
                break
            applied.append(revision.revision)
    return sorted(set(applied))


@contextmanager
def empty_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new database with a unique name on `server_url` and no schema, dropped afterwards: for
    the tests of migrating itself."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    ensure_database(server_url, name)
    try:
        yield with_database(server_url, name)
    finally:
        drop_database(server_url, name)


@contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """A fresh, migrated database with a unique name on `server_url`, dropped afterwards.

    For tests and benchmarks, which need a schema of their own beside whatever else the server
    holds.
    """
    with empty_database(server_url, prefix) as url:
        upgrade(url)
        yield url
