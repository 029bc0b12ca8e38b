"""Turn every model in `dbt_like_sql/` into an asset: adding a `.sql` file adds an asset.

Each asset's dependencies are its `{{ ref() }}`s, its group and description come from the file's
header, and its code version from the SQL, so the UI shows stale materializations after an edit.
Partitioned models get the daily partitions; a run refreshes its whole partition range at once
(one delete and one insert per run; the backfill policy says how many days a run takes).
"""

# Dagster reads the decorated functions' annotations at definition time: no postponed annotations.
from collections.abc import Mapping

import dagster as dg

from everreach.datasets import SqlModel, materialize
from everreach_dagster.metadata import table_metadata
from everreach_dagster.resources import DatabaseResource


def model_asset(
    model: SqlModel, partitions: dg.PartitionsDefinition, backfill_policy: dg.BackfillPolicy
) -> dg.AssetsDefinition:
    @dg.asset(
        name=model.name,
        group_name=model.group,
        description=model.description,
        deps=list(model.refs),
        partitions_def=partitions if model.partitioned else None,
        backfill_policy=backfill_policy if model.partitioned else None,
        code_version=model.code_version,
        kinds={"postgres", "sql"},
        tags={"materialized": model.materialized},
    )
    def _asset(
        context: dg.AssetExecutionContext, database: DatabaseResource
    ) -> dg.MaterializeResult:
        window = None
        if model.partitioned:
            time_window = context.partition_time_window
            window = (time_window.start, time_window.end)
        with database.connect() as conn:
            rows = materialize(conn, model, window)
            metadata = table_metadata(conn, model, window) if model.materialized != "view" else {}
        context.log.info(f"{model.materialized} analytics.{model.name}: {rows} rows")
        return dg.MaterializeResult(metadata=metadata)

    return _asset


def model_assets(
    models: Mapping[str, SqlModel],
    partitions: dg.PartitionsDefinition,
    backfill_policy: dg.BackfillPolicy | None = None,
) -> list[dg.AssetsDefinition]:
    policy = backfill_policy or dg.BackfillPolicy.single_run()
    return [model_asset(model, partitions, policy) for model in models.values()]
