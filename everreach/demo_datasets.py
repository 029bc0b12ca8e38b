"""The dataset half of `everreach demo`: materialize every asset for the demo's days.

Runs the real Dagster assets in-process against the persistent instance (so `make dev` shows
the runs afterwards), one run per day, then prints where the partitions are and the label
metrics table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import click
import dagster as dg
import psycopg

from everreach.database import Database
from everreach.labels import LabelValue
from everreach.settings import Settings
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


def demo_days(database_url: str) -> list[date]:
    """The UTC days that have events or responses."""
    with psycopg.connect(database_url) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        rows = conn.execute(
            "SELECT DISTINCT occurred_at::date FROM app_events "
            "UNION SELECT DISTINCT created_at::date FROM responses ORDER BY 1"
        ).fetchall()
    return [row[0] for row in rows]


def materialize_demo_days(settings: Settings, database: Database) -> DatasetsResult:
    prepare_dagster_home(settings.home_dir, database)
    graph = build_assets(settings)
    resources = default_resources(settings, database.url)
    days = demo_days(database.url)
    failed = 0
    with dg.DagsterInstance.get() as instance:
        click.echo(f"materializing {len(graph.unpartitioned)} models and {len(days)} day(s)")
        failed += not dg.materialize(
            graph.unpartitioned, resources=resources, instance=instance, raise_on_error=False
        ).success
        with click.progressbar(days, label="days") as bar:
            for day in bar:
                failed += not dg.materialize(
                    graph.daily,
                    resources=resources,
                    partition_key=day.isoformat(),
                    instance=instance,
                    raise_on_error=False,
                ).success
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
    )


def print_datasets(result: DatasetsResult) -> None:
    click.echo("")
    click.secho("dataset partitions", bold=True)
    for path in result.partitions:
        click.echo(f"  {path}")
    click.secho("label metrics", bold=True)
    click.echo(f"  {'day':<11} {'label':<27} {'segment':<18} {'value':>10} {'n':>6}")
    for m in result.metrics:
        segment = m.segment or "all"
        value = "-" if m.value is None else f"{m.value:.3f}"
        click.echo(f"  {m.day!s:<11} {m.label:<27} {segment:<18} {value:>10} {m.denominator:>6}")
    click.echo(f"  failed dagster runs  {result.failed_runs:>8}")
