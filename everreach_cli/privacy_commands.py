"""`everreach erase-user` and `everreach quarantine {status,replay}`: a person's erasure, and
recovery of events the tracking plan refused.

`erase-user` erases in the domain (`everreach.privacy.erasure`), then asks Dagster at once to
rebuild what held the person (the models, then the days, on the persistent instance) and stamps
the receipt rebuilt. If a run fails, the days stay in the change log and the Dagster sensors
finish the job; running the command again does too.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from datetime import datetime
from typing import TYPE_CHECKING

import click
from psycopg import AsyncConnection

from everreach.platform import Database, Settings, database_session
from everreach_cli.schema import migrate_database

if TYPE_CHECKING:  # the commands import their domains lazily, to start fast
    from everreach.collector import QuarantineGroup
    from everreach.privacy import ErasureReceipt


def _print_receipt(user_id: str, receipt: ErasureReceipt) -> None:
    if receipt.already_erased:
        click.echo(
            f"user {user_id} was already erased ({receipt.requested_at:%Y-%m-%d %H:%M} UTC, "
            f"receipt {receipt.receipt_id}); nothing left to delete, nothing changed"
        )
        return
    title = "would erase" if receipt.dry_run else "erased"
    click.secho(f"{title} user {user_id}", bold=True)
    if receipt.receipt_id:
        click.echo(f"  receipt              {receipt.receipt_id}")
    click.echo(f"  anonymous ids        {receipt.anonymous_ids}")
    for table, count in receipt.deleted_rows.items():
        click.echo(f"  {table:<20} {count:>7}")
    days = ", ".join(day.isoformat() for day in receipt.days) or "none"
    click.echo(f"  days to rebuild      {days}")
    queued = "yes" if receipt.posthog_deletion_queued else "no (not forwarding to PostHog)"
    click.echo(f"  posthog deletion     {queued}")


def _rebuild(settings: Settings, database: Database, receipt: ErasureReceipt) -> int:
    """Re-materialize the models and the receipt's days; the number of failed runs."""
    import dagster as dg
    import psycopg

    from everreach.privacy import mark_rebuilt
    from everreach_dagster.catch_up import rebuild_days
    from everreach_dagster.definitions import build_assets
    from everreach_dagster.instance import prepare_dagster_home
    from everreach_dagster.resources import default_resources

    prepare_dagster_home(settings.home_dir, database)
    graph = build_assets(settings)
    resources = default_resources(settings, database.url)
    click.echo(f"rebuilding the models and {len(receipt.days)} day(s) with Dagster")
    with dg.DagsterInstance.get() as instance:
        failed = rebuild_days(instance, graph.unpartitioned, graph.daily, resources, receipt.days)
    if not failed and receipt.receipt_id is not None:
        with psycopg.connect(database.url, autocommit=True) as conn:
            mark_rebuilt(conn, receipt.receipt_id)
        click.echo("rebuilt: no dataset file or model table holds the person any more")
    return failed


@click.command("erase-user")
@click.argument("user_id")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; change nothing.")
@click.pass_obj
def erase_user(settings: Settings, user_id: str, dry_run: bool) -> None:
    """Erase USER_ID everywhere (events, their devices' events, prompts, responses, links,
    outbox rows, reset tokens, account), suppress their ids, rebuild their dataset days."""
    from everreach.forwarding import person_deletion_wanted
    from everreach.privacy import erase_user as erase
    from everreach.privacy import identifier_hasher

    async def run(url: str) -> ErasureReceipt:
        async with await AsyncConnection.connect(url, autocommit=True) as conn:
            return await erase(
                conn,
                user_id,
                hasher=identifier_hasher(settings),
                requested_by=f"cli:{getpass.getuser()}",
                posthog_deletion=person_deletion_wanted(settings),
                dry_run=dry_run,
            )

    with database_session(settings) as database:
        migrate_database(settings, database.url)
        receipt = asyncio.run(run(database.url))
        _print_receipt(user_id, receipt)
        if receipt.receipt_id is None or receipt.rebuilt_at is not None:
            return
        if _rebuild(settings, database, receipt):
            click.echo("some runs failed; the Dagster sensors will rebuild the days", err=True)
            sys.exit(1)


@click.group()
def quarantine() -> None:
    """Quarantined events: what waits, and replaying them against the current plan."""


@quarantine.command("status")
@click.pass_obj
def quarantine_status(settings: Settings) -> None:
    """Quarantined events by event and reason, with the oldest and newest arrival."""
    from everreach.collector import quarantine_status as read_status

    async def run(url: str) -> list[QuarantineGroup]:
        async with await AsyncConnection.connect(url, autocommit=True) as conn:
            return await read_status(conn)

    with database_session(settings) as database:
        migrate_database(settings, database.url)
        groups = asyncio.run(run(database.url))
    if not groups:
        click.echo("the quarantine is empty")
        return
    click.echo(f"{'event':<32} {'reason':<24} {'events':>8}  oldest            newest")
    for g in groups:
        click.echo(
            f"{g.event_name or '-':<32} {g.reason:<24} {g.events:>8}  "
            f"{g.oldest:%Y-%m-%d %H:%M}  {g.newest:%Y-%m-%d %H:%M}"
        )


@quarantine.command("replay")
@click.option("--event", default=None, help="Only events of this name.")
@click.option("--reason", default=None, help="Only events quarantined with this reason code.")
@click.option(
    "--since",
    default=None,
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]),
    help="Only events quarantined at or after this time (UTC unless an offset is given).",
)
@click.option("--dry-run", is_flag=True, help="Report what would move; change nothing.")
@click.pass_obj
def quarantine_replay(
    settings: Settings,
    event: str | None,
    reason: str | None,
    since: datetime | None,
    dry_run: bool,
) -> None:
    """Re-validate quarantined events against the current tracking plan; store those that pass."""
    from datetime import UTC

    from everreach.collector import ReplaySelection, replay_as_configured

    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    selection = ReplaySelection(event=event, reason=reason, since=since)
    with database_session(settings) as database:
        migrate_database(settings, database.url)
        report = replay_as_configured(database.url, settings, selection, dry_run=dry_run)
    for line in report.lines():
        click.echo(line)
