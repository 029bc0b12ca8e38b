"""The code location `workspace.yaml` loads: every asset, check, job, schedule and resource.

`build_definitions` is a function so tests and the demo can build the same graph against their
own database; the module-level `defs` is what `dagster dev` and the webserver load, configured
from `EVERREACH_*` environment variables like the API.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from everreach.datasets import load_models
from everreach.plan import load_plan
from everreach.platform import Settings
from everreach_dagster.assets.metrics import label_metrics_asset
from everreach_dagster.assets.ml import dataset_asset, freshness_check
from everreach_dagster.event_partitions import (
    event_partitions_asset,
    event_partitions_job,
    event_partitions_schedule,
)
from everreach_dagster.execution import (
    check_execution_settings,
    daily_backfill_policy,
    executor,
    io_manager_resources,
)
from everreach_dagster.partitions import daily_partitions
from everreach_dagster.quarantine import quarantine_replay_job
from everreach_dagster.resources import default_resources, s3_resource
from everreach_dagster.retention import retention_jobs
from everreach_dagster.schedules import cron_schedule, nightly_partitions_schedule
from everreach_dagster.sensors.freshness import erasure_rebuild_sensor, late_data_sensor
from everreach_dagster.sql_models import model_assets

ML_MODEL = "ml_response_samples"


@dataclass(frozen=True)
class AssetGraph:
    """The assets split by how they run: once per refresh, or once per day partition."""

    unpartitioned: list[dg.AssetsDefinition]
    daily: list[dg.AssetsDefinition]
    freshness: dg.AssetChecksDefinition

    @property
    def assets(self) -> list[dg.AssetsDefinition]:
        return [*self.unpartitioned, *self.daily]


def build_assets(settings: Settings) -> AssetGraph:
    models = load_models()
    partitions = daily_partitions(settings)
    backfill = daily_backfill_policy(settings)
    sql_assets = dict(zip(models, model_assets(models, partitions, backfill), strict=True))
    dataset = dataset_asset(models[ML_MODEL], partitions, backfill)
    metrics = label_metrics_asset(load_plan(settings.tracking_plan), partitions, backfill)
    return AssetGraph(
        unpartitioned=[a for name, a in sql_assets.items() if not models[name].partitioned],
        daily=[
            *(a for name, a in sql_assets.items() if models[name].partitioned),
            dataset,
            metrics,
        ],
        freshness=freshness_check(dataset),
    )


def build_definitions(settings: Settings, database_url: str | None = None) -> dg.Definitions:
    check_execution_settings(settings)
    graph = build_assets(settings)
    refresh = dg.define_asset_job(
        "refresh_models",
        selection=dg.AssetSelection.assets(*graph.unpartitioned),
        description="Re-create the views and full-refresh tables of dbt_like_sql/.",
    )
    nightly = dg.define_asset_job(
        "daily_partitions",
        selection=dg.AssetSelection.assets(*graph.daily)
        - dg.AssetSelection.checks(graph.freshness),
        description="One day of every daily asset: samples, dataset files, label metrics.",
    )
    freshness = dg.define_asset_job(
        "dataset_freshness", selection=dg.AssetSelection.checks(graph.freshness)
    )
    cleanup_events, cleanup_responses, prune_runs = retention_jobs(settings)
    event_partitions = event_partitions_asset(settings)
    maintain_partitions = event_partitions_job(event_partitions)
    return dg.Definitions(
        assets=[*graph.assets, event_partitions],
        asset_checks=[graph.freshness],
        jobs=[
            refresh,
            nightly,
            freshness,
            maintain_partitions,
            cleanup_events,
            cleanup_responses,
            prune_runs,
            quarantine_replay_job(settings),
        ],
        sensors=[
            late_data_sensor(
                nightly, [a.key for a in graph.daily], dg.AssetKey(["datasets", ML_MODEL])
            ),
            erasure_rebuild_sensor(
                refresh, [a.key for a in graph.unpartitioned], [a.key for a in graph.daily]
            ),
        ],
        schedules=[
            event_partitions_schedule(maintain_partitions),
            cron_schedule("refresh_models_daily", "15 0 * * *", refresh, "Refresh the models."),
            nightly_partitions_schedule(nightly),
            cron_schedule(
                "dataset_freshness_check", "5 3 * * *", freshness, "Check last night's files."
            ),
            cron_schedule(
                "weekly_event_cleanup", "0 3 * * 0", cleanup_events, "cleanup_old_events"
            ),
            cron_schedule(
                "monthly_response_cleanup", "0 4 1 * *", cleanup_responses, "cleanup_old_responses"
            ),
            cron_schedule(
                "daily_run_history_prune", "30 4 * * *", prune_runs, "Prune Dagster run history."
            ),
        ],
        resources={
            **default_resources(settings, database_url),
            **io_manager_resources(settings, s3_resource(settings)),
        },
        executor=executor(settings),
    )


defs = build_definitions(Settings())
