"""The code location as Dagster itself loads it: workspace.yaml, dagster.yaml, schedules, the SQL
model loader, and the retention jobs on a database of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget

from everreach.datasets.sql_models import ModelError, load_models
from everreach.platform.database import Database, drop_database
from everreach.platform.migrations import scratch_database
from everreach_dagster.definitions import build_definitions
from everreach_dagster.instance import prepare_dagster_home
from everreach_dagster.partitions import daily_partitions
from everreach_dagster.resources import DatabaseResource
from everreach_dagster.sql_models import model_assets
from tests.conftest import make_settings

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def own_database(pg_server_url: str) -> Iterator[str]:
    with scratch_database(pg_server_url, "everreach_retention") as url:
        yield url


@pytest.fixture(scope="module")
def defs(own_database: str, tmp_path_factory: pytest.TempPathFactory) -> dg.Definitions:
    return build_definitions(make_settings(tmp_path_factory.mktemp("home"), own_database))


def test_every_schedule_runs_by_default_and_evaluates_at_a_given_time(defs) -> None:
    repo = defs.get_repository_def()
    at = datetime(2026, 3, 5, 0, 30, tzinfo=UTC)
    expected_jobs = {
        "refresh_models_daily": "refresh_models",
        "nightly_datasets": "daily_partitions",
        "dataset_freshness_check": "dataset_freshness",
        "weekly_event_cleanup": "cleanup_events_job",
        "monthly_response_cleanup": "cleanup_responses_job",
        "daily_run_history_prune": "prune_run_history_job",
        "daily_event_partitions": "event_partitions",
    }
    assert {s.name for s in repo.schedule_defs} == set(expected_jobs)
    for schedule in repo.schedule_defs:
        assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING, schedule.name
        assert schedule.job_name == expected_jobs[schedule.name]
        with dg.build_schedule_context(scheduled_execution_time=at, repository_def=repo) as context:
            result = schedule.evaluate_tick(context)
        assert len(result.run_requests or []) == 1, schedule.name
        if schedule.name == "nightly_datasets":
            assert result.run_requests[0].partition_key == "2026-03-04"  # yesterday
    assert repo.get_schedule_def("weekly_event_cleanup").cron_schedule == "0 3 * * 0"
    assert repo.get_schedule_def("monthly_response_cleanup").cron_schedule == "0 4 1 * *"


def test_workspace_yaml_loads_the_code_location_like_the_webserver(tmp_path: Path) -> None:
    instance = dg.DagsterInstance.local_temp(str(tmp_path))
    target = WorkspaceFileTarget(paths=[str(REPO / "workspace.yaml")])
    with WorkspaceProcessContext(instance, target) as workspace:
        entries = workspace.create_request_context().get_code_location_entries()
        assert len(entries) == 1
        (entry,) = entries.values()
        assert entry.load_error is None, entry.load_error
        (repo,) = entry.code_location.get_repositories().values()
        keys = {node.asset_key.to_user_string() for node in repo.get_asset_node_snaps()}
        assert {
            "stg_identity",
            "stg_events",
            "ml_response_samples",
            "onboarding_funnel",
            "datasets/ml_response_samples",
            "label_metrics",
        } <= keys
        assert len(repo.get_schedules()) == 7


def test_dagster_yaml_stores_in_postgres_with_telemetry_off(
    pg_server_url: str, own_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"dagster_{uuid.uuid4().hex[:8]}"
    for variable in ("DAGSTER_HOME", "EVERREACH_DAGSTER_PG_URL"):
        monkeypatch.delenv(variable, raising=False)
    try:
        env = prepare_dagster_home(tmp_path, Database(url=own_database), name)
        assert env["EVERREACH_DAGSTER_PG_URL"].startswith("postgresql+psycopg2://")
        with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
            assert instance.telemetry_enabled is False
            result = dg.materialize([_probe_asset()], instance=instance)
            assert result.success
            assert instance.get_run_records(limit=5)  # the run is in Postgres
    finally:
        drop_database(pg_server_url, name)


def _probe_asset() -> dg.AssetsDefinition:
    @dg.asset(name="probe")
    def probe() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"ok": True})

    return probe


def test_a_new_sql_file_becomes_an_asset_with_its_refs(tmp_path: Path) -> None:
    (tmp_path / "base.sql").write_text("-- materialized: view\nSELECT 1 AS x\n")
    (tmp_path / "top.sql").write_text(
        "-- materialized: table\n-- group: extra\nSELECT x FROM {{ ref('base') }}\n"
    )
    models = load_models(tmp_path)
    assets = model_assets(models, daily_partitions(make_settings(tmp_path, "postgresql://x")))
    top = next(a for a in assets if a.key == dg.AssetKey("top"))
    assert set(top.asset_deps[dg.AssetKey("top")]) == {dg.AssetKey("base")}
    assert top.group_names_by_key[dg.AssetKey("top")] == "extra"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.sql": "SELECT * FROM {{ ref('missing') }}"}, "unknown model 'missing'"),
        (
            {"a.sql": "SELECT * FROM {{ ref('b') }}", "b.sql": "SELECT * FROM {{ ref('a') }}"},
            "cycle",
        ),
        ({"a.sql": "-- materialized: partitioned\nSELECT 1"}, "partition_column"),
        ({"a.sql": "-- materialized: cube\nSELECT 1"}, "materialized must be"),
        ({"a.sql": "SELECT {{ nonsense }}"}, "unknown template"),
    ],
)
def test_broken_models_fail_loudly(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ModelError, match=message):
        load_models(tmp_path)


def test_retention_jobs_delete_old_rows_and_record_the_counts(defs, own_database: str) -> None:
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=200), now - timedelta(days=1)
    with psycopg.connect(own_database, autocommit=True) as conn:
        for at in (old, old, recent):
            conn.execute(
                "INSERT INTO app_events (event_id, event_name, user_id, occurred_at) "
                "VALUES (%s, 'message_sent', 'u1', %s)",
                (uuid.uuid4(), at),
            )
        orphan, kept = uuid.uuid4(), uuid.uuid4()
        for prompt, at in ((orphan, old), (kept, recent)):
            conn.execute(
                "INSERT INTO prompts (prompt_id, text, created_at) VALUES (%s, 'p', %s)",
                (prompt, at),
            )
            conn.execute(
                "INSERT INTO responses (response_id, prompt_id, text, created_at) "
                "VALUES (%s, %s, 'r', %s)",
                (uuid.uuid4(), prompt, at),
            )
    repo = defs.get_repository_def()
    resources = {"database": DatabaseResource(url=own_database)}
    instance = dg.DagsterInstance.ephemeral()
    events_run = repo.get_job("cleanup_events_job").execute_in_process(
        instance=instance, resources=resources
    )
    responses_run = repo.get_job("cleanup_responses_job").execute_in_process(
        instance=instance, resources=resources
    )
    events_meta = _output_metadata(events_run, "cleanup_old_events")
    responses_meta = _output_metadata(responses_run, "cleanup_old_responses")
    assert events_meta["keep_days"] == 90 and events_meta["deleted_app_events"] == 2
    assert events_meta["dropped_partitions_app_events"] == 0  # both rows were in DEFAULT
    assert responses_meta["keep_days"] == 180
    assert responses_meta["deleted_responses"] == 1 and responses_meta["deleted_prompts"] == 1
    with psycopg.connect(own_database) as conn:
        assert conn.execute("SELECT count(*) FROM app_events").fetchone() == (1,)
        assert conn.execute("SELECT prompt_id FROM prompts").fetchall() == [(kept,)]
        logged = conn.execute(
            "SELECT function, table_name, deleted_rows FROM retention_runs ORDER BY id"
        ).fetchall()
    assert ("cleanup_old_events", "app_events", 2) in logged
    assert ("cleanup_old_responses", "prompts", 1) in logged

    prune = repo.get_job("prune_run_history_job").execute_in_process(
        instance=instance, run_config={"ops": {"prune_run_history": {"config": {"days": 0}}}}
    )
    assert _output_metadata(prune, "prune_run_history")["deleted_runs"] == 2
    assert [r.dagster_run.run_id for r in instance.get_run_records()] == [prune.run_id]


def _output_metadata(result: dg.ExecuteInProcessResult, op: str) -> dict[str, object]:
    (event,) = [e for e in result.events_for_node(op) if e.is_successful_output]
    return {k: v.value for k, v in event.step_output_data.metadata.items()}


def test_table_models_refill_in_place_and_kind_changes_rebuild_dependents(
    tmp_path: Path, db
) -> None:
    from everreach.datasets.sql_models import materialize

    def build(base_kind: str, value: int) -> None:
        (tmp_path / "kind_base.sql").write_text(
            f"-- materialized: {base_kind}\nSELECT {value} AS x\n"
        )
        (tmp_path / "kind_top.sql").write_text(
            "-- materialized: view\nSELECT x + 1 AS y FROM {{ ref('kind_base') }}\n"
        )
        for model in load_models(tmp_path).values():
            materialize(db, model)

    def relkind() -> str:
        return db.execute(
            "SELECT relkind FROM pg_class WHERE oid = 'analytics.kind_base'::regclass"
        ).fetchone()[0]

    build("view", 1)
    assert relkind() == "v"
    build("table", 2)  # the kind changed: the view goes, the table comes, the dependent follows
    assert relkind() == "r"
    assert db.execute("SELECT y FROM analytics.kind_top").fetchone() == (3,)
    (tmp_path / "kind_base.sql").write_text("-- materialized: table\nSELECT 5 AS x\n")
    materialize(db, load_models(tmp_path)["kind_base"])  # refreshed alone, in place
    assert db.execute("SELECT y FROM analytics.kind_top").fetchone() == (6,)
    db.execute("DROP VIEW analytics.kind_top; DROP TABLE analytics.kind_base")


def test_a_unique_key_is_declared_on_table_models(tmp_path: Path, db) -> None:
    from everreach.datasets.sql_models import materialize

    (tmp_path / "keyed.sql").write_text(
        "-- materialized: table\n-- unique_key: k\nSELECT g AS k FROM generate_series(1, 3) g\n"
    )
    materialize(db, load_models(tmp_path)["keyed"])
    indexes = db.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'analytics' AND tablename = 'keyed'"
    ).fetchall()
    assert [d for (d,) in indexes] == [
        "CREATE UNIQUE INDEX keyed_k_key ON analytics.keyed USING btree (k)"
    ]
    (tmp_path / "keyed.sql").write_text("-- materialized: view\n-- unique_key: k\nSELECT 1 AS k\n")
    with pytest.raises(ModelError, match="unique_key"):
        load_models(tmp_path)
    db.execute("DROP TABLE analytics.keyed")
