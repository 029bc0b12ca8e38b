"""`everreach materialize` and `everreach dagster` from the terminal, on the embedded default:
a range becomes a real Dagster backfill in the Postgres-backed instance, each day's
materialization matches its manifest, and a range past the last partition is a usage error
that names the missing day."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from everreach.platform import Settings, database_session
from everreach_dagster.instance import prepare_dagster_home
from tests.e2e.test_embedded_default import EVERREACH, cli_env, run_cli

DATASET = dg.AssetKey(["datasets", "ml_response_samples_files"])


def test_a_range_past_the_last_partition_names_the_missing_day(tmp_path: Path) -> None:
    today = datetime.now(UTC).date()
    result = run_cli(
        tmp_path, "materialize", "--from", str(today), "--to", str(today + timedelta(days=2))
    )
    assert result.returncode == 2
    assert f"{today + timedelta(days=2)} has no partition yet" in result.stderr
    # the last partition is today, UTC: the CLI's today, a day on if midnight passed meanwhile
    last = re.search(r"the last partition is (\d{4}-\d{2}-\d{2})", result.stderr)
    assert last, result.stderr
    assert date.fromisoformat(last.group(1)) in (today, today + timedelta(days=1))
    assert "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_materialize_runs_a_backfill_and_each_day_matches_its_manifest(tmp_path: Path) -> None:
    home = tmp_path / "home"
    demo = run_cli(home, "demo", "--users", "12", "--days", "2", "--seed", "4")
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    days = sorted(
        date.fromisoformat(d)
        for d in re.findall(r"/ml_response_samples/dt=(\d{4}-\d{2}-\d{2})$", demo.stdout, re.M)
    )[:2]
    result = run_cli(home, "materialize", "--from", str(days[0]), "--to", str(days[-1]))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    backfill_id = re.search(r"^backfill (\w+): 2 day\(s\)", result.stdout, re.M).group(1)
    for day in days:
        assert re.search(rf"^  {day}  materialized$", result.stdout, re.M)

    with database_session(Settings(home=home, database_url=None)) as database:
        env = prepare_dagster_home(home.resolve(), database)
        with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            backfill = instance.get_backfill(backfill_id)
            assert backfill is not None and backfill.status.value == "COMPLETED_SUCCESS"
            for day in days:
                manifest = json.loads(
                    (
                        home.resolve()
                        / "datasets/manifests/ml_response_samples"
                        / f"dt={day}"
                        / "_manifest.json"
                    ).read_text()
                )
                (record,) = instance.fetch_materializations(
                    dg.AssetRecordsFilter(asset_key=DATASET, asset_partitions=[str(day)]), limit=1
                ).records
                metadata = record.asset_materialization.metadata
                assert (
                    record.event_log_entry.dagster_event.logging_tags.get("dagster/backfill")
                    == backfill_id
                    or record.run_id
                )
                assert metadata["dagster/row_count"].value == manifest["rows"]
                assert metadata["dagster/uri"].value.endswith(f"dt={day}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("demo", "--users", "-5"), "--users"),
        (("demo", "--days", "0"), "--days"),
        (("serve", "--port", "99999999"), "--port"),
    ],
)
def test_out_of_range_numbers_are_usage_errors(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = run_cli(tmp_path, *args, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Invalid value" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr


def test_partitions_start_at_the_first_day_with_data(database_url: str, db, tmp_path: Path) -> None:
    """Unless EVERREACH_PARTITIONS_START is set, the daily partitions begin at the first day
    with data: a day before it is refused, in words, before anything runs."""
    (first,) = db.execute(
        "SELECT (min(t) AT TIME ZONE 'UTC')::date FROM (SELECT min(occurred_at) FROM app_events "
        "UNION ALL SELECT min(created_at) FROM responses) AS b(t)"
    ).fetchone()
    if first is None:
        first = date(2026, 3, 2)
        db.execute(
            "INSERT INTO responses (response_id, prompt_id, user_id, model, text, created_at) "
            "VALUES (gen_random_uuid(), gen_random_uuid(), 'u-start', 'm', 't', %s)",
            (datetime(2026, 3, 2, 9, tzinfo=UTC),),
        )
    before = first - timedelta(days=1)
    env = {**cli_env(tmp_path), "EVERREACH_DATABASE_URL": database_url}
    result = subprocess.run(
        [EVERREACH, "materialize", "--from", str(before), "--to", str(first)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{before} is before the first daily partition, {first}" in result.stderr


def test_an_unknown_asset_is_a_usage_error_that_lists_the_daily_assets(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "materialize", "--select", "ml_samples", timeout=60)
    assert result.returncode == 2
    assert "unknown daily asset(s) ml_samples" in result.stderr
    assert "datasets/ml_response_samples_files" in result.stderr
    assert "label_metrics" in result.stderr


def test_dagster_passthrough_reaches_the_postgres_instance(tmp_path: Path) -> None:
    """`everreach dagster -- ARGS` runs a dagster command with DAGSTER_HOME and the database
    set: no environment to export by hand, no traceback."""
    result = run_cli(tmp_path, "dagster", "--", "instance", "info", timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "PostgresRunStorage" in result.stdout
    assert str(tmp_path.resolve() / "dagster") in result.stdout
