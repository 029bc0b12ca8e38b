"""The dataset half of `everreach demo`: materialize every asset for the demo's days.

Runs on the persistent instance, so `make dev` shows it afterwards, the way a person would: the
named jobs the nightly schedules run first (`event_partitions` for the event store's day
partitions, `refresh_models` for the SQL models), then the demo's days as a real Dagster backfill
(the UI's Backfills page lists it), all tagged `everreach/source=everreach demo`. Without the
first, the UI showed a newcomer the event store's asset as never materialized after the demo.
Then prints where the partitions are, the label metrics, which alerts fired on which day, and
what to do next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import click
import dagster as dg
import psycopg

from everreach.datasets import (
    LabelValue,
    breaches_on,
    data_days,
    label_chart_parts,
    label_values,
)
from everreach.platform import Database, Settings, days_window, window_days
from everreach_cli.materialize import (
    SOURCE_TAG,
    daily_selection,
    environment,
    partitions_from_data,
    run_backfill,
)
from everreach_dagster.definitions import build_definitions
from everreach_dagster.resources import default_resources

DATASET = "ml_response_samples"
SOURCE = "everreach demo"
# Dagster's run logger prints every step at DEBUG on its own handler; the demo prints a summary,
# and the full event log stays in the instance for `make dev` to show.
QUIET_RUN = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
NIGHTLY_JOBS = {
    "event_partitions": "the event store's day partitions",
    "refresh_models": "the SQL models",
}
"""The jobs run before the backfill, in the order their schedules run each night."""


@dataclass(frozen=True)
class DatasetsResult:
    days: list[date]
    partitions: list[str]
    metrics: list[LabelValue]
    failed_runs: int
    chart: str | None
    alerts_fired: dict[date, list[str]]
    backfill_days: tuple[date, date] | None


def demo_days(database_url: str) -> list[date]:
    """The UTC days from the first to the last that has events or responses."""
    with psycopg.connect(database_url) as conn:
        bounds = data_days(conn)
    return window_days(days_window(*bounds)) if bounds else []


def materialize_demo_days(settings: Settings, database: Database) -> DatasetsResult:
    settings = partitions_from_data(settings, database)
    environment(settings, database)  # DAGSTER_HOME and the instance's database for this process
    resources = default_resources(settings, database.url)
    definitions = build_definitions(settings, database.url)
    days = demo_days(database.url)
    failed = 0
    with dg.DagsterInstance.get() as instance:
        for name, what in NIGHTLY_JOBS.items():
            click.echo(f"running the {name} job ({what})")
            failed += not (
                definitions.resolve_job_def(name)
                .execute_in_process(
                    instance=instance,
                    raise_on_error=False,
                    run_config=QUIET_RUN,
                    tags={SOURCE_TAG: SOURCE},
                )
                .success
            )
    if days:
        results = run_backfill(settings, database, days, daily_selection(settings, ()), SOURCE)
        failed += any(r.status != "materialized" for r in results)
    store = resources["datasets"].store()  # type: ignore[attr-defined]
    with psycopg.connect(database.url) as conn:
        metrics = label_values(conn, days)
        fired: dict[date, list[str]] = {}
        for breach in breaches_on(conn, days):
            fired.setdefault(breach.day, []).append(breach.alert)
    return DatasetsResult(
        days=days,
        partitions=[store.uri_of(DATASET, f"dt={day.isoformat()}") for day in days],
        metrics=metrics,
        failed_runs=failed,
        chart=store.uri_of(*label_chart_parts(days[-1])) if days else None,
        alerts_fired=fired,
        backfill_days=(days[0], days[-1]) if days else None,
    )


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float | None]) -> str:
    """The values as a one-line bar chart (a blank where a day had no data)."""
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    return "".join(
        " " if v is None else SPARK[round((v - low) / span * (len(SPARK) - 1))] for v in values
    )


def _label_series(result: DatasetsResult) -> dict[str, dict[date, LabelValue]]:
    series: dict[str, dict[date, LabelValue]] = {}
    for metric in result.metrics:
        name = metric.label if not metric.segment else f"{metric.label}[{metric.segment}]"
        series.setdefault(name, {})[metric.day] = metric
    return series


def print_datasets(result: DatasetsResult) -> None:
    click.echo("")
    click.secho("dataset partitions", bold=True)
    for path in result.partitions:
        click.echo(f"  {path}")
    if result.chart:
        click.echo(f"  chart of the label metrics: {result.chart}")
    first, last = (result.days[0], result.days[-1]) if result.days else ("-", "-")
    click.secho(f"label metrics, one bar per day from {first} to {last}", bold=True)
    click.echo(f"  {'label':<38} {'daily':<{len(result.days)}}  {'latest':>10} {'n':>5}")
    for name, by_day in sorted(_label_series(result).items()):
        values = [by_day[d].value if d in by_day else None for d in result.days]
        known = [by_day[d] for d in sorted(by_day) if by_day[d].value is not None]
        latest = known[-1] if known else by_day[max(by_day)]
        shown = "-" if latest.value is None else f"{latest.value:.3f}"
        click.echo(f"  {name:<38} {sparkline(values)}  {shown:>10} {latest.denominator:>5}")
    click.echo(f"  failed dagster runs  {result.failed_runs:>8}")
    click.secho("alerts fired", bold=True)
    for day in result.days:
        click.echo(f"  {day}  {', '.join(result.alerts_fired.get(day, [])) or 'none'}")
    click.secho("next", bold=True)
    click.echo(
        "  make dev               the API on :8000 and the Dagster UI on http://127.0.0.1:3000"
    )
    click.echo("                         (Runs and Backfills show the demo's jobs, tagged")
    click.echo(f"                         {SOURCE_TAG}={SOURCE})")
    if result.backfill_days:
        first, last = result.backfill_days
        click.echo(f"  everreach materialize --from {first} --to {last}")
        click.echo("                         re-materialize days from the terminal, as a backfill")
