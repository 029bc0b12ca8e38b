"""The event-partition asset through a real Dagster run: partitions made ahead, DEFAULT emptied,
and its check warning when events had landed in DEFAULT."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import psycopg
import pytest

from everreach.platform.migrations import scratch_database
from everreach_dagster.definitions import build_definitions
from everreach_dagster.event_partitions import ASSET_KEY, DEFAULT_CHECK
from everreach_dagster.resources import DatabaseResource
from tests.conftest import make_settings


@pytest.fixture
def own_database(pg_server_url: str) -> Iterator[str]:
    with scratch_database(pg_server_url, "everreach_event_partitions") as url:
        yield url


def run_maintenance(defs: dg.Definitions, url: str) -> dg.ExecuteInProcessResult:
    job = defs.get_repository_def().get_job("event_partitions")
    return job.execute_in_process(resources={"database": DatabaseResource(url=url)})


def check_of(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.asset_check_key == dg.AssetCheckKey(ASSET_KEY, DEFAULT_CHECK)
    return evaluation


def test_the_maintenance_warns_about_events_in_default_and_moves_them(
    own_database: str, tmp_path
) -> None:
    settings = make_settings(
        tmp_path, own_database, retention_events_days=20, event_partitions_ahead_days=14
    )
    defs = build_definitions(settings, own_database)
    late = datetime.now(UTC) - timedelta(days=10)
    with psycopg.connect(own_database, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO app_events (event_id, event_name, occurred_at) VALUES (%s, 'x', %s)",
            (uuid.uuid4(), late),
        )

    started_on = datetime.now(UTC).date()
    first = run_maintenance(defs, own_database)
    assert first.success
    warning = check_of(first)
    assert not warning.passed and warning.severity == dg.AssetCheckSeverity.WARN
    assert warning.metadata["landed_in_default"].value == {late.date().isoformat(): 1}
    assert warning.metadata["moved_events"].value == 1
    (materialization,) = first.asset_materializations_for_node("app_events_partitions")
    # The run's own today: the day the test started, or the next if midnight passed meanwhile.
    today = date.fromisoformat(materialization.metadata["last_day"].value) - timedelta(days=14)
    assert today in {started_on, datetime.now(UTC).date()}
    assert materialization.metadata["first_day"].value == str(today - timedelta(days=20))
    with psycopg.connect(own_database) as conn:
        assert conn.execute("SELECT count(*) FROM app_events_default").fetchone() == (0,)
        assert conn.execute("SELECT tableoid::regclass::text FROM app_events").fetchall() == [
            (f"app_events_p{late:%Y%m%d}",)
        ]

    again = run_maintenance(defs, own_database)
    assert check_of(again).passed
