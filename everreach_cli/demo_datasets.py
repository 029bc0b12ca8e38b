"""The dataset half of `everreach demo`: materialize every asset for the demo's days.

Runs the real Dagster assets in-process against the persistent instance (so `make dev` shows
the runs afterwards): the models, then the demo's days as one run over the range, the way a
backfill runs them; then prints where the partitions are and the label metrics table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import click
import dagster as dg
import psycopg

from everreach.datasets import LabelValue, label_chart_parts
from everreach.platform import Database, Settings, days_window, window_days
from everreach_dagster.catch_up import materialize_quietly, range_tags
from everreach_dagster.definitions import build_assets
from everreach_dagster.instance import prepare_dagster_home
from everreach_dagster.resources import default_resources

DATASET = "ml_response_samples"


@dataclass(frozen=True)
class DatasetsResult:
    days: list[date]
    partitions: list[str]
    metrics: list[LabelValue]
    failed_runs: int
    chart: str | None


def demo_days(database_url: str) -> list[date]:
    """The UTC days from the first to the last that has events or responses."""
    with psycopg.connect(database_url) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        first, last = conn.execute(
            "SELECT min(first)::date, max(last)::date FROM ("
            " SELECT min(occurred_at), max(occurred_at) FROM app_events"
            " UNION ALL SELECT min(created_at), max(created_at) FROM responses"
            ") AS bounds(first, last)"
        ).fetchone() or (None, None)
    return window_days(days_window(first, last)) if first else []


def materialize_demo_days(settings: Settings, database: Database) -> DatasetsResult:
    prepare_dagster_home(settings.home_dir, database)
    graph = build_assets(settings)
    resources = default_resources(settings, database.url)
    days = demo_days(database.url)
    with dg.DagsterInstance.get() as instance:
        click.echo(f"materializing {len(graph.unpartitioned)} models and {len(days)} day(s)")
        failed = int(not materialize_quietly(instance, graph.unpartitioned, resources))
        if days:
            click.echo(f"materializing {days[0]} to {days[-1]} in one run, as a backfill does")
            tags = range_tags(days[0], days[-1])
            failed += not materialize_quietly(instance, graph.daily, resources, tags)
    store = resources["datasets"].store()  # type: ignore[attr-defined]
    with psycopg.connect(database.url) as conn:
        rows = conn.execute(
            "SELECT day, label, kind, dimension, segment, value, numerator, denominator "
            "FROM analytics.label_metrics WHERE day = ANY(%s) ORDER BY day, label, segment",
            (days,),
        ).fetchall()
    return DatasetsResult(
        days=days,
        partitions=[store.uri_of(DATASET, f"dt={day.isoformat()}") for day in days],
        metrics=[LabelValue(*row) for row in rows],
        failed_runs=failed,
        chart=store.uri_of(*label_chart_parts(days[-1])) if days else None,
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
