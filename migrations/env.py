"""Alembic environment: runs the versioned migrations against the URL `everreach migrate` passes.

Migrations hold their SQL in `migrations/sql/*.sql` (the versions only say which file to run).
A Postgres advisory lock serialises concurrent `migrate` calls (several API processes or test
workers starting at once), so each revision is applied exactly once.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

MIGRATION_LOCK_KEY = 7_220_031_001  # arbitrary, fixed: identifies "everreach migrations"


def run_migrations_online() -> None:
    url = context.config.attributes.get("url") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("no database URL: run `everreach migrate` (it resolves the URL for you)")
    engine = create_engine(url)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        connection.commit()
        try:
            context.configure(connection=connection, transaction_per_migration=True)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
            connection.commit()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; the SQL lives in migrations/sql/")
run_migrations_online()
