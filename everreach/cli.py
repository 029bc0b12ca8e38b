"""The `everreach` command line: serve, migrate, demo, db-url.

Every command resolves the database the same way (EVERREACH_DATABASE_URL, else the embedded
server under EVERREACH_HOME) and lets go of an embedded server it started when it ends.
"""

from __future__ import annotations

import sys

import click

from everreach.database import database_session, libpq_url, with_driver
from everreach.embedded_pg import start_embedded
from everreach.logs import configure_logging
from everreach.migrate import upgrade
from everreach.settings import Settings
from everreach.taxonomy import PlanError


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """EverReach analytics: collector API, datasets and metrics."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    ctx.obj = settings


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=int)
@click.pass_obj
def serve(settings: Settings, host: str, port: int) -> None:
    """Run the API (migrating the database first)."""
    from api.app import create_app
    from api.server import serve_forever

    with database_session(settings) as database:
        upgrade(database.url)
        try:
            app = create_app(settings, database.url)
        except PlanError as exc:
            raise click.ClickException(f"the tracking plan is broken: {exc}") from exc
        click.echo(f"serving on http://{host}:{port} (OpenAPI at /schema)", err=True)
        serve_forever(app, host, port)


@main.command()
@click.pass_obj
def migrate(settings: Settings) -> None:
    """Apply the database migrations (idempotent)."""
    with database_session(settings) as database:
        applied = upgrade(database.url)
    click.echo(f"applied: {', '.join(applied)}" if applied else "database is up to date")


@main.command()
@click.option("--users", default=60, show_default=True, help="Synthetic users.")
@click.option("--days", default=14, show_default=True, help="Days of history.")
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same data).")
@click.pass_obj
def demo(settings: Settings, users: int, days: int, seed: int) -> None:
    """Replay synthetic EverReach traffic through the real API and summarise it."""
    from everreach.demo import print_summary, run_demo

    with database_session(settings) as database:
        result = run_demo(settings, database, users=users, days=days, seed=seed)
    print_summary(result)
    if result.stats.failed_requests:
        sys.exit(1)


@main.command("db-url")
@click.pass_obj
def db_url(settings: Settings) -> None:
    """Print the SQLAlchemy URL in use; an embedded server is started and left running.

    Left running on purpose: the URL is for another program (psql, a notebook) to use after this
    command returns. The next everreach command attaches to it and stops it when it ends.
    """
    if settings.database_url:
        url = libpq_url(settings.database_url)
    else:
        from everreach.database import APP_DATABASE, ensure_database, with_database

        server = start_embedded(settings.pgdata_dir, keep_running=True)
        ensure_database(server.uri, APP_DATABASE)
        url = with_database(server.uri, APP_DATABASE)
    click.echo(with_driver(url, "psycopg"))
