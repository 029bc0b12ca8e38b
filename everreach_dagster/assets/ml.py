"""The ML dataset: each day of `ml_response_samples` as Parquet + CSV + manifest, with checks.

The checks run with the materialization and read back what was written: the row counts of the
source window, the Parquet footer, the parsed CSV and the manifest must agree, and no exported
text may still hold a PII pattern. A freshness check expects the nightly partition by 03:00 UTC.
"""

# Dagster reads the decorated functions' annotations at definition time: no postponed annotations.
from datetime import UTC, datetime, timedelta

import dagster as dg

from everreach.datasets import (
    PartitionCounts,
    count_partition,
    day_window,
    partition_parts,
    pii_findings,
    preview_rows,
    write_partition,
)
from everreach.sql_models import SqlModel, qualified
from everreach_dagster.metadata import markdown_table
from everreach_dagster.partitions import partition_day
from everreach_dagster.resources import DatabaseResource, DatasetStorageResource

TEXT_COLUMNS = ("prompt_text", "response_text")
FRESHNESS_DEADLINE_HOUR = 3
ROW_COUNTS_CHECK = "row_counts_match"
PII_CHECK = "no_pii_in_text"


def dataset_key(model: SqlModel) -> dg.AssetKey:
    return dg.AssetKey(["datasets", model.name])


def _row_count_check(source_rows: int, counts: PartitionCounts) -> dg.AssetCheckResult:
    seen = {
        "source": source_rows,
        "manifest": counts.manifest,
        "parquet": counts.parquet,
        "csv": counts.csv,
    }
    return dg.AssetCheckResult(
        check_name=ROW_COUNTS_CHECK,
        passed=len(set(seen.values())) == 1,
        metadata={f"{name}_rows": dg.MetadataValue.int(n) for name, n in seen.items()},
    )


def _pii_check(findings: dict[str, int]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=PII_CHECK,
        passed=not any(findings.values()),
        metadata={f"{column}_values_with_pii": n for column, n in findings.items()},
    )


def dataset_asset(model: SqlModel, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The daily file partitions of the partitioned model `model`."""
    key = dataset_key(model)

    @dg.asset(
        key=key,
        group_name="ml",
        deps=[model.name],
        partitions_def=partitions,
        kinds={"parquet", "csv"},
        description=(
            f"Daily files of {model.name} under the datasets root, Hive-style: "
            "<root>/<dataset>/dt=YYYY-MM-DD/part-00000.{parquet,csv} + _manifest.json."
        ),
        check_specs=[
            dg.AssetCheckSpec(
                ROW_COUNTS_CHECK,
                asset=key,
                description="Rows equal in the source window, Parquet, CSV and manifest.",
            ),
            dg.AssetCheckSpec(
                PII_CHECK, asset=key, description="No PII pattern in exported text columns."
            ),
        ],
    )
    def _dataset(
        context: dg.AssetExecutionContext,
        database: DatabaseResource,
        datasets: DatasetStorageResource,
    ) -> dg.MaterializeResult:
        day = partition_day(context)
        store = datasets.store()
        start, end = day_window(day)
        with database.connect() as conn:
            manifest = write_partition(conn, store, model, day)
            row = conn.execute(
                f"SELECT count(*) FROM {qualified(model.name)} "
                f"WHERE {model.partition_column} >= %s AND {model.partition_column} < %s",
                (start, end),
            ).fetchone()
        source_rows = row[0] if row else 0
        folder = store.uri_of(*partition_parts(model.name, day))
        preview = preview_rows(store, model.name, day, 5)
        context.log.info(f"wrote {manifest.rows} rows to {folder}")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": dg.MetadataValue.int(manifest.rows),
                "dagster/column_schema": dg.TableSchema(
                    columns=[dg.TableColumn(c["name"], c["type"]) for c in manifest.columns]
                ),
                "dagster/uri": dg.MetadataValue.url(folder)
                if store.is_s3
                else dg.MetadataValue.path(folder),
                "files": dg.MetadataValue.json(
                    {f.name: {"sha256": f.sha256, "bytes": f.bytes} for f in manifest.files}
                ),
                "code_version": manifest.code_version,
                "preview": dg.MetadataValue.md(
                    markdown_table(
                        [c["name"] for c in manifest.columns],
                        [list(r.values()) for r in preview],
                    )
                ),
            },
            check_results=[
                _row_count_check(source_rows, count_partition(store, model.name, day)),
                _pii_check(pii_findings(store, model.name, day, TEXT_COLUMNS)),
            ],
        )

    return _dataset


def freshness_check(dataset: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    """Yesterday's partition must exist once the nightly deadline (03:00 UTC) has passed.

    Dagster's `build_time_partition_freshness_checks` expects the last partition of the
    definition, which with `end_offset=1` is the day still in progress; so this one asks for
    the day before the latest deadline explicitly.
    """
    key = dataset.key

    @dg.asset_check(
        asset=key,
        name="nightly_partition_fresh",
        description="Yesterday's partition is written by 03:00 UTC.",
    )
    def _fresh(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        now = datetime.now(UTC)
        deadline = now.replace(hour=FRESHNESS_DEADLINE_HOUR, minute=0, second=0, microsecond=0)
        if deadline > now:
            deadline -= timedelta(days=1)
        expected = (deadline - timedelta(days=1)).date().isoformat()
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[expected]), limit=1
        ).records
        return dg.AssetCheckResult(
            passed=bool(records),
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"expected_partition": expected, "deadline": deadline.isoformat()},
        )

    return _fresh
