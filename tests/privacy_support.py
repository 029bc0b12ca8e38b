"""What the privacy and recovery scenarios share: a dated event, a batch sender, a Dagster
ephemeral instance, and scans of every table and dataset file for a person's traces."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import psycopg
import pyarrow.parquet as pq

from everreach.platform.settings import Settings
from everreach_dagster.catch_up import rebuild_days
from everreach_dagster.definitions import build_assets, build_definitions
from everreach_dagster.resources import DatabaseResource, DatasetStorageResource, s3_resource
from tests.helpers import event


def past_day(days_ago: int) -> date:
    return (datetime.now(UTC) - timedelta(days=days_ago)).date()


def at(day: date, hour: int) -> str:
    return datetime.combine(day, time(hour), tzinfo=UTC).isoformat()


def dated(name: str, day: date, hour: int, props: dict[str, Any] | None = None, **fields: Any):
    """A wire event that happened on `day` (sent without sent_at: no skew correction)."""
    return event(name, props, timestamp=at(day, hour), **fields)


def send(
    api: httpx.Client, events: list[dict[str, Any]], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    response = api.post("/v1/ingest", json={"batch": events}, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


@dataclass
class DagsterHarness:
    """The real assets, sensors and jobs on an ephemeral instance, against one database."""

    settings: Settings
    database_url: str
    root: Path
    datasets: DatasetStorageResource | None = None  # default: the local folder `root`

    def __post_init__(self) -> None:
        self.instance = dg.DagsterInstance.ephemeral()
        self.graph = build_assets(self.settings)
        self.definitions = build_definitions(self.settings, self.database_url)
        self.resources = {
            "database": DatabaseResource(url=self.database_url),
            "datasets": self.datasets
            or DatasetStorageResource(root=str(self.root), s3=s3_resource(self.settings)),
        }
        self.cursors: dict[str, str | None] = {}

    def build(self, days: Iterable[date]) -> None:
        """Materialize the models and the days (what the nightly runs and backfills do)."""
        days = list(days)
        failed = rebuild_days(
            self.instance, self.graph.unpartitioned, self.graph.daily, self.resources, days
        )
        assert failed == 0

    def tick(self, sensor_name: str) -> dg.SensorResult:
        """One evaluation of a sensor, keeping its cursor between ticks as the daemon does."""
        sensor = self.definitions.resolve_sensor_def(sensor_name)
        with dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursors.get(sensor_name),
            resources={"database": DatabaseResource(url=self.database_url)},
            definitions=self.definitions,
        ) as context:
            result = sensor(context)
        assert isinstance(result, dg.SensorResult)
        if result.cursor is not None:
            self.cursors[sensor_name] = result.cursor
        for event_ in result.asset_events or []:
            self.instance.report_runless_asset_event(event_)
        return result

    def run(self, request: dg.RunRequest, job_name: str) -> None:
        """Execute a sensor's run request the way the daemon would launch it."""
        assets = self.graph.unpartitioned if job_name == "refresh_models" else self.graph.daily
        result = dg.materialize(
            assets,
            resources=self.resources,
            instance=self.instance,
            partition_key=request.partition_key,
            tags=request.tags,
            raise_on_error=False,
        )
        assert result.success


def tables_holding(database_url: str, needles: Iterable[str]) -> dict[str, int]:
    """Rows per table (public and analytics schemas) whose text holds any of `needles`."""
    patterns = [f"%{needle}%" for needle in needles]
    found: dict[str, int] = {}
    with psycopg.connect(database_url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('public', 'analytics') AND table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            (count,) = conn.execute(
                psycopg.sql.SQL(
                    "SELECT count(*) FROM {}.{} AS t WHERE t::text LIKE ANY(%s)"
                ).format(psycopg.sql.Identifier(schema), psycopg.sql.Identifier(table)),
                (patterns,),
            ).fetchone()
            if count:
                found[f"{schema}.{table}"] = count
    return found


def table_counts(database_url: str) -> dict[str, int]:
    """Rows of every table (public and analytics schemas)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('public', 'analytics') AND table_type = 'BASE TABLE'"
        ).fetchall()
        return {
            f"{schema}.{table}": conn.execute(
                psycopg.sql.SQL("SELECT count(*) FROM {}.{}").format(
                    psycopg.sql.Identifier(schema), psycopg.sql.Identifier(table)
                )
            ).fetchone()[0]
            for schema, table in tables
        }


def file_text(path: Path) -> str:
    """A dataset file as text: Parquet rows rendered, CSV and manifests as they are."""
    if path.suffix == ".parquet":
        return str(pq.read_table(path).to_pylist())
    if path.suffix == ".png":
        return ""  # charts of aggregate label metrics
    return path.read_text(encoding="utf-8")


def files_holding(root: Path, needles: Iterable[str]) -> list[str]:
    needles = list(needles)
    return [
        str(path.relative_to(root))
        for path in sorted(root.rglob("*"))
        if path.is_file() and any(needle in file_text(path) for needle in needles)
    ]


def file_digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
