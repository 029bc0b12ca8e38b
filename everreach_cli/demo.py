"""`everreach demo`: the main job end to end on whatever database is configured.

Start (or attach to) the database, migrate, serve the real API on a local port, replay synthetic
EverReach traffic through HTTP, and print what happened. Together with `cli.py` this is the
composition root: the one place that wires the API edge to the domain.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import click
import psycopg

from api.app import create_app
from api.server import serve_in_thread
from everreach.accounts import TokenCodec, signing_key
from everreach.platform import Database, Settings
from everreach_cli.replay import ReplayStats, replay
from everreach_cli.schema import migrate_database
from everreach_cli.synthetic_traffic import generate_traffic

TABLES = ("app_events", "quarantined_events", "prompts", "responses")


@dataclass(frozen=True)
class DemoResult:
    stats: ReplayStats
    table_rows: dict[str, int]


def table_counts(database_url: str) -> dict[str, int]:
    """Rows per table, for the summary."""
    with psycopg.connect(database_url) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in TABLES
        }


def run_demo(
    settings: Settings, database: Database, users: int, days: int, seed: int
) -> DemoResult:
    """Replay `users` synthetic users over `days` days through the live API."""
    applied, _ = migrate_database(settings, database.url)
    click.echo(
        f"database: {'embedded' if database.is_embedded else 'external'} Postgres; "
        f"migrations applied now: {', '.join(applied) or 'none (up to date)'}"
    )
    requests = generate_traffic(users=users, days=days, seed=seed)
    total_events = sum(len(r.events) for r in requests)
    click.echo(
        f"generated {len(requests)} requests carrying {total_events} events "
        f"({users} users, {days} days, seed {seed})"
    )
    app = create_app(settings, database.url)
    tokens = TokenCodec(signing_key(settings))
    with serve_in_thread(app, keep_alive_s=settings.http_keep_alive_s) as base_url:
        click.echo(f"API listening on {base_url}; replaying through POST /v1/ingest")
        with click.progressbar(length=len(requests), label="replaying", file=None) as bar:
            stats = asyncio.run(replay(base_url, requests, tokens, on_progress=bar.update))
    return DemoResult(stats=stats, table_rows=table_counts(database.url))


def print_summary(result: DemoResult) -> None:
    stats = result.stats
    click.echo("")
    click.secho("collector results", bold=True)
    click.echo(f"  requests sent        {stats.requests:>8}")
    click.echo(f"  events accepted      {stats.accepted:>8}")
    click.echo(f"  duplicates           {stats.duplicates:>8}")
    click.echo(f"  quarantined          {stats.quarantined:>8}")
    click.echo(f"  429 retries          {stats.rate_limited_retries:>8}")
    click.echo(f"  failed requests      {len(stats.failed_requests):>8}")
    for failure in stats.failed_requests[:5]:
        click.echo(f"    {failure}")
    click.secho("rows per table", bold=True)
    for table, rows in result.table_rows.items():
        click.echo(f"  {table:<20} {rows:>8}")
