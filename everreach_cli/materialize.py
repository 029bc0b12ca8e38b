"""`everreach materialize` and `everreach dagster`: the terminal path to the Dagster instance.

Both run against the configured database (EVERREACH_DATABASE_URL, else the embedded server
under EVERREACH_HOME) and its Dagster instance (`<home>/dagster`, storage in the `dagster`
database beside the app's), the same ones `everreach dev` shows, so nobody has to export
DAGSTER_HOME or EVERREACH_DAGSTER_PG_URL by hand.

`materialize` submits a real Dagster backfill (it appears on the UI's Backfills page, with a
status per partition, and its failed days can be re-executed alone), processes it with the
Dagster daemon (the one `everreach dev` runs, or one started for the duration), prints each day
as it completes and ends with a summary per day (with the backfill's runs and, in celery mode,
the steps each worker executed), and each failed step with its error (`run_failures`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click
import dagster as dg
import psycopg
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.utils import make_new_backfill_id
from dagster._daemon.controller import all_daemons_live

from everreach.datasets import data_days
from everreach.platform import Database, Settings, database_session
from everreach_cli.schema import migrate_database
from everreach_dagster.definitions import build_assets, build_definitions
from everreach_dagster.instance import prepare_dagster_home
from everreach_dagster.run_failures import run_failures
from everreach_dagster.step_workers import step_workers, steps_per_worker

REPO = Path(__file__).resolve().parents[1]
WORKSPACE = REPO / "workspace.yaml"
POLL_S = 2.0
LIVE_HEARTBEAT_S = 90.0
FINISHED = {
    BulkActionStatus.COMPLETED,
    BulkActionStatus.COMPLETED_SUCCESS,
    BulkActionStatus.COMPLETED_FAILED,
    BulkActionStatus.FAILED,
    BulkActionStatus.CANCELED,
}
SOURCE_TAG = "everreach/source"
PARTITIONS_START_ENV = "EVERREACH_PARTITIONS_START"


def last_complete_day(now: datetime | None = None) -> date:
    """Yesterday in UTC: the newest day whose events are all in."""
    return ((now or datetime.now(UTC)) - timedelta(days=1)).date()


def check_range(first: date, last: date, partitions: dg.DailyPartitionsDefinition) -> None:
    """A usage error, in words, when the range holds a day without a partition."""
    if first > last:
        raise click.UsageError(f"--from {first} is after --to {last}")
    start = partitions.start.date()
    newest = date.fromisoformat(partitions.get_last_partition_key() or start.isoformat())
    if first < start:
        raise click.UsageError(
            f"{first} is before the first daily partition, {start} (the first day with data; "
            "EVERREACH_PARTITIONS_START sets another)"
        )
    if last > newest:
        raise click.UsageError(
            f"{last} has no partition yet: the last partition is {newest} (today, UTC); "
            f"use --to {newest} or an earlier day"
        )


def partitions_from_data(settings: Settings, database: Database) -> Settings:
    """Daily partitions from the first day with data, unless EVERREACH_PARTITIONS_START is set:
    the UI then lists the days that exist, not hundreds of "missing" ones since 2025-01-01.

    Also put in this process's environment, so the Dagster processes started from here (the
    daemon, `dagster dev`, any `everreach dagster` command) load the same partitions.
    """
    if "partitions_start" in settings.model_fields_set:
        return settings
    with psycopg.connect(database.url) as conn:
        bounds = data_days(conn)
    if bounds is None:
        return settings
    os.environ[PARTITIONS_START_ENV] = bounds[0].isoformat()
    return settings.model_copy(update={"partitions_start": bounds[0].isoformat()})


def environment(settings: Settings, database: Database) -> dict[str, str]:
    """What a Dagster process needs to reach this instance and this database."""
    return {
        **os.environ,
        **prepare_dagster_home(settings.home_dir, database, settings=settings),
        "EVERREACH_DATABASE_URL": database.url,
        "EVERREACH_HOME": str(settings.home_dir),
    }


@contextmanager
def running_daemon(instance: dg.DagsterInstance, env: dict[str, str]) -> Iterator[None]:
    """The Dagster daemon (backfills, run queue): the one already running, or our own.

    A daemon beats every 30 s; Dagster's own liveness check tolerates 30 min of silence, which
    would take a daemon stopped a minute ago for a live one, and the backfill would wait forever.
    """
    if all_daemons_live(instance, heartbeat_tolerance_seconds=LIVE_HEARTBEAT_S):
        click.echo("the running Dagster daemon takes the backfill up")
        yield
        return
    daemon = str(Path(sys.executable).with_name("dagster-daemon"))
    child = subprocess.Popen(
        [daemon, "run", "-w", str(WORKSPACE)],
        env=env,
        cwd=env["DAGSTER_HOME"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        instance.wipe_daemon_heartbeats()  # ours has stopped: nobody may take it for live


@dataclass(frozen=True)
class DayResult:
    day: date
    status: str  # "materialized", "failed" or "not run"


def _days_materialized(
    instance: dg.DagsterInstance, keys: Sequence[dg.AssetKey], days: list[date], since: float
) -> set[date]:
    done = set()
    for day in days:
        if all(
            instance.fetch_materializations(
                dg.AssetRecordsFilter(
                    asset_key=key, asset_partitions=[day.isoformat()], after_timestamp=since
                ),
                limit=1,
            ).records
            for key in keys
        ):
            done.add(day)
    return done


def _days_failed(backfill: PartitionBackfill, keys: Sequence[dg.AssetKey]) -> set[date]:
    data = backfill.asset_backfill_data
    if data is None:
        return set()
    failed = data.failed_and_downstream_subset
    return {
        date.fromisoformat(partition)
        for key in keys
        if key in failed.partitions_subsets_by_asset_key
        for partition in failed.get_partitions_subset(key).get_partition_keys()
    }


def daily_selection(settings: Settings, selection: Sequence[str]) -> list[dg.AssetKey]:
    """The daily assets named in `selection` (all of them when empty); unknown names are a
    usage error that lists the known ones."""
    daily = {key.to_user_string(): key for a in build_assets(settings).daily for key in a.keys}
    unknown = [name for name in selection if name not in daily]
    if unknown:
        raise click.UsageError(
            f"unknown daily asset(s) {', '.join(unknown)}; choose from {', '.join(sorted(daily))}"
        )
    return [daily[name] for name in selection] if selection else list(daily.values())


def backfill_runs(instance: dg.DagsterInstance, backfill_id: str) -> Sequence[dg.DagsterRun]:
    """The runs the backfill launched."""
    return instance.get_runs(filters=dg.RunsFilter.for_backfill(backfill_id))


def placement(instance: dg.DagsterInstance, runs: Sequence[dg.DagsterRun]) -> str:
    """How many runs the backfill made and, in celery mode, how many steps each worker ran
    (from the event log): the proof, in the terminal, that the work left this process."""
    run_ids = [r.run_id for r in runs]
    counts = steps_per_worker(step_workers(instance, run_ids))
    on = ", ".join(f"{worker}: {steps}" for worker, steps in counts.items())
    return f"{len(run_ids)} run(s)" + (f", steps on {on}" if on else "")


def run_backfill(
    settings: Settings,
    database: Database,
    days: list[date],
    keys: Sequence[dg.AssetKey],
    source: str,
) -> list[DayResult]:
    """Submit the backfill of `days` for `keys`, tagged with `source`, and follow it to the end.

    The range must hold partitions only (`check_range` first). Prints each day as it is done.
    """
    env = environment(settings, database)
    with dg.DagsterInstance.get() as instance:
        started = time.time()
        backfill = PartitionBackfill.from_asset_partitions(
            backfill_id=make_new_backfill_id(),
            # the graph the code location loads (the daemon resolves the same keys there)
            asset_graph=build_definitions(settings).resolve_asset_graph(),
            partition_names=[d.isoformat() for d in days],
            asset_selection=keys,
            backfill_timestamp=started,
            tags={SOURCE_TAG: source},
            dynamic_partitions_store=instance,
            all_partitions=False,
            title=f"{source}: {days[0]} to {days[-1]}",
            description=f"Submitted from the terminal by `{source}`.",
            run_config=None,
        )
        instance.add_backfill(backfill)
        click.echo(
            f"backfill {backfill.backfill_id}: {len(days)} day(s) from {days[0]} to {days[-1]}, "
            f"{len(keys)} asset(s); follow it on the Dagster UI's Backfills page"
        )
        reported: set[date] = set()
        with running_daemon(instance, env):
            while True:
                current = instance.get_backfill(backfill.backfill_id)
                assert current is not None
                done = _days_materialized(instance, keys, days, started)
                failed = _days_failed(current, keys)
                for day in sorted((done | failed) - reported):
                    click.echo(f"  {day}  {'failed' if day in failed else 'materialized'}")
                    reported.add(day)
                if current.status in FINISHED:
                    break
                time.sleep(POLL_S)
        runs = backfill_runs(instance, backfill.backfill_id)
        click.echo(
            f"backfill {backfill.backfill_id} ended: {current.status.value}; "
            f"{placement(instance, runs)}"
        )
        for failure in run_failures(instance, runs):
            click.echo(f"  failed: {failure.line()}")
    return [
        DayResult(day, "failed" if day in failed else "materialized" if day in done else "not run")
        for day in days
    ]


def materialize_range(
    settings: Settings, first: date, last: date, selection: Sequence[str]
) -> list[DayResult]:
    """`everreach materialize`: check the range, then backfill it on the configured database."""
    keys = daily_selection(settings, selection)
    with database_session(settings) as database:
        migrate_database(settings, database.url)
        settings = partitions_from_data(settings, database)
        partitions = build_assets(settings).daily[0].partitions_def
        assert isinstance(partitions, dg.DailyPartitionsDefinition)
        check_range(first, last, partitions)
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        return run_backfill(settings, database, days, keys, "everreach materialize")


def print_day_summary(results: list[DayResult]) -> None:
    click.secho("per day", bold=True)
    for result in results:
        click.echo(f"  {result.day}  {result.status}")
    failed = [r.day for r in results if r.status != "materialized"]
    if failed:
        click.echo(
            "re-run the failed days alone from the Backfills page (Re-execute failed), or "
            f"`everreach materialize --from {failed[0]} --to {failed[-1]}`"
        )


def run_dagster_command(settings: Settings, args: Sequence[str]) -> int:
    """Run `dagster ARGS` (or `dg ...` when ARGS starts with `dg`) with this instance's env."""
    program, rest = ("dg", args[1:]) if args and args[0] == "dg" else ("dagster", args)
    executable = str(Path(sys.executable).with_name(program))
    with database_session(settings) as database:
        migrate_database(settings, database.url)
        env = environment(partitions_from_data(settings, database), database)
        return subprocess.call([executable, *rest], env=env, cwd=REPO)
