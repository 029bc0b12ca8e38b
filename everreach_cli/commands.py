"""The `everreach` command line: serve, migrate, demo, db-url.

Every command resolves the database the same way (EVERREACH_DATABASE_URL, else the embedded
server under EVERREACH_HOME) and lets go of an embedded server it started when it ends.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import datetime

import click

from everreach.forwarding import DESTINATIONS
from everreach.plan import PlanError
from everreach.platform import (
    Settings,
    configure_logging,
    database_session,
    libpq_url,
    start_embedded,
    with_driver,
)
from everreach_cli.privacy_commands import erase_user, quarantine
from everreach_cli.schema import migrate_database

ADMIN_PASSWORD_ENV = "EVERREACH_ADMIN_PASSWORD"


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    """SIGTERM as SystemExit: Python's default ends the process at once, skipping `finally`
    blocks and atexit, which would leave the embedded Postgres running."""
    raise SystemExit(128 + signum)


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """EverReach analytics: collector API, datasets and metrics."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    ctx.obj = settings


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="API processes; more than one needs EVERREACH_REDIS_URL (one shared rate limit).",
)
@click.pass_obj
def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    """Run the API (migrating the database first)."""
    from api.app import create_app
    from api.server import serve_forever, serve_workers

    if workers > 1 and not settings.redis_url:
        raise click.ClickException(
            "several workers would each keep their own rate limit: set EVERREACH_REDIS_URL "
            "(e.g. redis://127.0.0.1:6379/0) or run one worker"
        )
    with database_session(settings) as database:
        migrate_database(settings, database.url)
        try:
            app = create_app(settings, database.url)
        except PlanError as exc:
            raise click.ClickException(f"the tracking plan is broken: {exc}") from exc
        click.echo(f"serving on http://{host}:{port} (OpenAPI at /schema)", err=True)
        if workers == 1:
            serve_forever(app, host, port, settings.http_keep_alive_s)
        else:
            os.environ["EVERREACH_DATABASE_URL"] = database.url
            serve_workers(host, port, workers, settings.http_keep_alive_s)


@main.command()
@click.pass_obj
def migrate(settings: Settings) -> None:
    """Apply the database migrations and make the event store's day partitions (idempotent)."""
    with database_session(settings) as database:
        applied, partitions = migrate_database(settings, database.url)
    click.echo(f"applied: {', '.join(applied)}" if applied else "database is up to date")
    if partitions.created or partitions.left_in_default:
        click.echo(
            f"event partitions: {len(partitions.created)} made, {partitions.moved_events} events"
            f" moved out of DEFAULT, {sum(d.events for d in partitions.left_in_default)} left there"
        )


@main.command()
@click.option(
    "--users", default=60, show_default=True, type=click.IntRange(min=1), help="Synthetic users."
)
@click.option(
    "--days", default=14, show_default=True, type=click.IntRange(min=1), help="Days of history."
)
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same data).")
@click.pass_obj
def demo(settings: Settings, users: int, days: int, seed: int) -> None:
    """Replay synthetic EverReach traffic through the real API and summarise it."""
    from everreach_cli.demo import print_summary, run_demo
    from everreach_cli.demo_datasets import materialize_demo_days, print_datasets

    with database_session(settings) as database:
        result = run_demo(settings, database, users=users, days=days, seed=seed)
        datasets = materialize_demo_days(settings, database)
    print_summary(result)
    print_datasets(datasets)
    if result.stats.failed_requests or datasets.failed_runs:
        sys.exit(1)


@main.command()
@click.option("--api-port", default=8000, show_default=True, type=int)
@click.option("--dagster-port", default=3000, show_default=True, type=int)
@click.pass_obj
def dev(settings: Settings, api_port: int, dagster_port: int) -> None:
    """Run the API and the Dagster UI (`dagster dev`) on the same database."""
    from everreach_cli.devserver import run_dev

    sys.exit(run_dev(settings, api_port, dagster_port))


@main.command("materialize")
@click.option(
    "--from",
    "first",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="First day (UTC, YYYY-MM-DD); default: the last complete day.",
)
@click.option(
    "--to",
    "last",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Last day, included; default: the --from day.",
)
@click.option(
    "--select",
    "selection",
    multiple=True,
    help="A daily asset to materialize (repeatable), e.g. datasets/ml_response_samples_files; "
    "default: every daily asset.",
)
@click.pass_obj
def materialize_days(
    settings: Settings, first: datetime | None, last: datetime | None, selection: tuple[str, ...]
) -> None:
    """Materialize days as a Dagster backfill on the configured instance, with a per-day summary."""
    from everreach_cli.materialize import last_complete_day, materialize_range, print_day_summary

    first_day = first.date() if first else (last.date() if last else last_complete_day())
    last_day = last.date() if last else first_day
    results = materialize_range(settings, first_day, last_day, selection)
    print_day_summary(results)
    if any(r.status != "materialized" for r in results):
        sys.exit(1)


@main.command(
    "dagster", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def dagster_command(settings: Settings, args: tuple[str, ...]) -> None:
    """Run `dagster ARGS` (or `dg ARGS` with `everreach dagster -- dg ...`) against this
    instance and database: DAGSTER_HOME and the database URLs are set for it."""
    from everreach_cli.materialize import run_dagster_command

    sys.exit(run_dagster_command(settings, args))


@main.command("create-admin")
@click.argument("email")
@click.pass_obj
def create_admin(settings: Settings, email: str) -> None:
    """Make EMAIL an admin: a new account, or an existing one promoted (its password replaced).

    The password is never an argument (it would land in shell history and `ps`): it is read from
    EVERREACH_ADMIN_PASSWORD when set (scripts; fill it from a secret store), else from a hidden
    prompt asked twice.
    """
    from everreach.accounts import create_admin_account
    from everreach.platform import ClientFault

    password = os.environ.get(ADMIN_PASSWORD_ENV) or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    with database_session(settings) as database:
        migrate_database(settings, database.url)
        try:
            account, created = asyncio.run(
                create_admin_account(settings, database.url, email, password)
            )
        except ClientFault as exc:
            raise click.ClickException(exc.detail) from exc
    click.echo(f"{'created' if created else 'promoted'} admin {account.email} ({account.user_id})")


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
        from everreach.platform import APP_DATABASE, ensure_database, with_database

        server = start_embedded(settings.pgdata_dir, keep_running=True)
        ensure_database(server.uri, APP_DATABASE)
        url = with_database(server.uri, APP_DATABASE)
    click.echo(with_driver(url, "psycopg"))


@main.command()
@click.option("--metrics-port", type=int, default=None, help="Also serve Prometheus metrics.")
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
@click.pass_obj
def forwarder(settings: Settings, metrics_port: int | None, metrics_host: str) -> None:
    """Deliver the outbox to PostHog and the webhook until SIGINT/SIGTERM."""
    from everreach.forwarding import forward_destinations, run_until_signalled

    destinations = forward_destinations(settings)
    if not destinations:
        raise click.ClickException(
            "no destination configured: set POSTHOG_API_KEY and/or MI_WEBHOOK_URL"
        )
    with database_session(settings) as database:
        migrate_database(settings, database.url)
        if metrics_port is not None:
            from prometheus_client import start_http_server

            start_http_server(metrics_port, addr=metrics_host)
        click.echo(f"forwarding to {', '.join(destinations)} (Ctrl-C to stop)", err=True)
        run_until_signalled(settings, database.url)


@main.command()
@click.option("--name", default=None, help="Worker name in Dagster's logs (default: worker-<pid>).")
@click.option(
    "--concurrency",
    default=2,
    show_default=True,
    type=click.IntRange(min=1),
    help="Steps run at once (and as many runs).",
)
@click.option(
    "--queue",
    "queues",
    multiple=True,
    default=("dagster",),
    show_default=True,
    help="Queue to take steps from (repeat for several); steps go to `dagster` unless an asset "
    "sets the `dagster-celery/queue` tag.",
)
@click.option(
    "--grace",
    default=300.0,
    show_default=True,
    type=float,
    help="Seconds running tasks get to finish on SIGTERM before they are killed.",
)
@click.pass_obj
def worker(
    settings: Settings, name: str | None, concurrency: int, queues: tuple[str, ...], grace: float
) -> None:
    """Run Dagster's Celery workers for EVERREACH_EXECUTION=celery until SIGINT/SIGTERM."""
    from everreach_cli.worker import run_worker

    sys.exit(run_worker(settings, name or f"worker-{os.getpid()}", concurrency, queues, grace))


@main.group()
def outbox() -> None:
    """The forwarding outbox: delivery status and dead-letter redrive."""


@outbox.command("status")
@click.pass_obj
def outbox_status(settings: Settings) -> None:
    """Pending, in-flight, retrying, dead and delivered events per destination."""
    from everreach.forwarding import format_status, read_status

    with database_session(settings) as database:
        migrate_database(settings, database.url)
        click.echo(format_status(read_status(database.url)))


@outbox.command("redrive")
@click.option(
    "--destination",
    type=click.Choice(DESTINATIONS),
    default=None,
    help="Only this destination's dead rows (default: all).",
)
@click.pass_obj
def outbox_redrive(settings: Settings, destination: str | None) -> None:
    """Put dead-lettered events back in the queue, due now, with a fresh retry window."""
    from everreach.forwarding import redrive_dead

    with database_session(settings) as database:
        migrate_database(settings, database.url)
        count = redrive_dead(database.url, destination)
    click.echo(f"requeued {count} dead event(s)")


main.add_command(erase_user)
main.add_command(quarantine)
