"""The execution modes on paper: what each mode configures, and what celery mode refuses."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml
from click.testing import CliRunner
from dagster._core.instance.config import dagster_instance_config

from everreach.platform.settings import Settings
from everreach_cli.commands import main
from everreach_dagster.execution import (
    RUN_QUEUE,
    TEMPLATES,
    ExecutionConfigError,
    PingingCeleryRunLauncher,
    celery_config,
    check_execution_settings,
    daily_backfill_policy,
    executor,
    io_manager_resources,
)
from everreach_dagster.resources import s3_resource

BROKER = "redis://127.0.0.1:6379/13"


def celery_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "home": tmp_path,
        "execution": "celery",
        "celery_broker_url": BROKER,
        "datasets_root": "s3://bucket/prefix",
        **overrides,
    }
    return Settings(**values)


def test_celery_mode_refuses_a_local_datasets_root_and_a_missing_broker(tmp_path: Path) -> None:
    local_root = celery_settings(tmp_path, datasets_root=str(tmp_path / "datasets"))
    with pytest.raises(ExecutionConfigError, match=r"EVERREACH_DATASETS_ROOT=s3://"):
        check_execution_settings(local_root)
    with pytest.raises(ExecutionConfigError, match="EVERREACH_CELERY_BROKER_URL"):
        check_execution_settings(celery_settings(tmp_path, celery_broker_url=None))
    check_execution_settings(celery_settings(tmp_path))
    check_execution_settings(Settings(home=tmp_path))  # local mode needs neither


def test_the_worker_command_says_what_to_set_instead_of_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVERREACH_HOME", str(tmp_path))
    monkeypatch.setenv("EVERREACH_EXECUTION", "celery")
    monkeypatch.setenv("EVERREACH_CELERY_BROKER_URL", BROKER)
    monkeypatch.setenv("EVERREACH_DATASETS_ROOT", str(tmp_path / "datasets"))
    result = CliRunner().invoke(main, ["worker", "--name", "w"])
    assert result.exit_code == 1
    assert "EVERREACH_DATASETS_ROOT=s3://bucket/prefix" in result.output
    monkeypatch.setenv("EVERREACH_EXECUTION", "local")
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code == 1
    assert "EVERREACH_EXECUTION=celery" in result.output


def test_backfills_run_the_whole_range_locally_and_k_days_per_run_on_workers(
    tmp_path: Path,
) -> None:
    assert daily_backfill_policy(Settings(home=tmp_path)).max_partitions_per_run is None
    configured = Settings(home=tmp_path, backfill_days_per_run=3)
    assert daily_backfill_policy(configured).max_partitions_per_run == 3
    assert daily_backfill_policy(celery_settings(tmp_path)).max_partitions_per_run == 5
    assert (
        daily_backfill_policy(
            celery_settings(tmp_path, backfill_days_per_run=2)
        ).max_partitions_per_run
        == 2
    )


def test_celery_mode_runs_steps_on_celery_and_keeps_outputs_on_s3(tmp_path: Path) -> None:
    assert executor(Settings(home=tmp_path)) is None
    assert io_manager_resources(Settings(home=tmp_path), None) == {}
    settings = celery_settings(tmp_path)
    celery = executor(settings)
    assert isinstance(celery, dg.ExecutorDefinition)
    assert celery.name == "everreach_celery"
    (io_manager,) = io_manager_resources(settings, s3_resource(settings)).values()
    assert (io_manager.s3_bucket, io_manager.s3_prefix) == ("bucket", "prefix/dagster-io")


def test_the_celery_template_launches_runs_on_workers_and_monitors_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copyfile(TEMPLATES["celery"], tmp_path / "dagster.yaml")
    for variable in ("EVERREACH_CELERY_BROKER_URL", "EVERREACH_CELERY_BACKEND_URL"):
        monkeypatch.setenv(variable, BROKER)
    monkeypatch.setenv("EVERREACH_DAGSTER_PG_URL", "postgresql+psycopg2://u@127.0.0.1/dagster")
    config = dagster_instance_config(str(tmp_path), "dagster.yaml")[0]
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    launcher = config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == (
        "everreach_dagster.execution",
        PingingCeleryRunLauncher.__name__,
    )
    assert launcher["config"]["default_queue"] == RUN_QUEUE
    settings = celery_settings(tmp_path)
    assert launcher["config"]["config_source"].items() <= celery_config(settings).items()
    assert config["run_monitoring"]["enabled"] is True
    assert config["run_monitoring"]["max_resume_run_attempts"] == 0
    local = yaml.safe_load(TEMPLATES["local"].read_text())
    assert "run_launcher" not in local  # local mode: runs in the daemon's host
    shared = set(local) - {"run_coordinator"}  # storage, telemetry, retention: as locally
    assert {k: config[k] for k in shared} == {k: local[k] for k in shared}


def test_late_acknowledgement_and_single_prefetch_for_every_celery_client(tmp_path: Path) -> None:
    config = celery_config(celery_settings(tmp_path, celery_visibility_timeout_s=120))
    assert config["task_acks_late"] is True
    assert config["worker_prefetch_multiplier"] == 1
    assert config["broker_transport_options"]["visibility_timeout"] == 120
