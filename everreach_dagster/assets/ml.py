"""The ML dataset: each day of `ml_response_samples` as Parquet + CSV + manifest, with checks.

The checks run with the materialization and read back what was written: the row counts of the
source window, the Parquet footer, the parsed CSV and the manifest must agree, and no exported
text may still hold a PII pattern. A freshness check expects the nightly partition by 03:00 UTC.

A backfill writes its whole range in one run (`BackfillPolicy.single_run`), a day's files at a
time, and reports one materialization per day with that day's rows, folder and sha256s; the
checks then hold for every day of the range and name the days that break them.
"""

# Dagster reads the decorated functions' annotations at definition time: no postponed annotations.
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg

from everreach.datasets import (
    DatasetStore,
    Manifest,
    PartitionCounts,
    SqlModel,
    count_partition,
    model_rows_by_day,
    partition_parts,
    pii_findings,
    preview_rows,
    write_partition,
)
from everreach.platform import window_days
from everreach_dagster.metadata import markdown_table
from everreach_dagster.resources import DatabaseResource, DatasetStorageResource

TEXT_COLUMNS = ("prompt_text", "response_text")
FRESHNESS_DEADLINE_HOUR = 3
ROW_COUNTS_CHECK = "row_counts_match"
PII_CHECK = "no_pii_in_text"
PREVIEW_ROWS = 5


def dataset_key(model: SqlModel) -> dg.AssetKey:
    """`datasets/<model>_files`: the files of the model's table, named apart from the table
    asset itself (the UI shows the last part of a key, and two `ml_response_samples` confused)."""
    return dg.AssetKey(["datasets", f"{model.name}_files"])


def _row_count_check(
    source_rows: dict[date, int], counts: dict[date, PartitionCounts]
) -> dg.AssetCheckResult:
    """Every day's rows agree in the source window, the manifest, the Parquet and the CSV."""
    seen = {
        day: {
            "source": source_rows.get(day, 0),
            "manifest": c.manifest,
            "parquet": c.parquet,
            "csv": c.csv,
        }
        for day, c in counts.items()
    }
    disagreeing = [day.isoformat() for day, n in seen.items() if len(set(n.values())) != 1]
    totals: Counter[str] = Counter()
    for n in seen.values():
        totals.update(n)
    return dg.AssetCheckResult(
        check_name=ROW_COUNTS_CHECK,
        passed=not disagreeing,
        metadata={
            **{f"{name}_rows": dg.MetadataValue.int(n) for name, n in totals.items()},
            "days_disagreeing": ", ".join(disagreeing) or "none",
        },
    )


def _pii_check(findings: list[dict[str, int]]) -> dg.AssetCheckResult:
    totals: Counter[str] = Counter()
    for day_findings in findings:
        totals.update(day_findings)
    return dg.AssetCheckResult(
        check_name=PII_CHECK,
        passed=not any(totals.values()),
        metadata={f"{column}_values_with_pii": n for column, n in totals.items()},
    )


def _partition_metadata(
    store: DatasetStore, dataset: str, day: date, manifest: Manifest
) -> dict[str, Any]:
    """What one day's materialization shows: that day's rows, folder, files and preview.

    A range run reports one materialization per day; each carries its own day's figures (the
    range's totals on every day would contradict the day's `_manifest.json`).
    """
    folder = store.uri_of(*partition_parts(dataset, day))
    preview = preview_rows(store, dataset, day, PREVIEW_ROWS)
    return {
        "dagster/row_count": dg.MetadataValue.int(manifest.rows),
        "dagster/uri": dg.MetadataValue.url(folder)
        if store.is_s3
        else dg.MetadataValue.path(folder),
        "files": dg.MetadataValue.json(
            {f.path: {"sha256": f.sha256, "bytes": f.bytes, "rows": f.rows} for f in manifest.files}
        ),
        "code_version": manifest.code_version,
        "preview": dg.MetadataValue.md(
            markdown_table(
                [c["name"] for c in manifest.columns], [list(r.values()) for r in preview]
            )
        ),
    }


def dataset_asset(
    model: SqlModel, partitions: dg.PartitionsDefinition, backfill_policy: dg.BackfillPolicy
) -> dg.AssetsDefinition:
    """The daily file partitions of the partitioned model `model`."""
    key = dataset_key(model)

    @dg.asset(
        key=key,
        group_name="ml",
        deps=[model.name],
        partitions_def=partitions,
        backfill_policy=backfill_policy,
        kinds={"parquet", "csv"},
        description=(
            f"Daily files of {model.name} under the datasets root, Hive-style: "
            f"<root>/{model.name}/dt=YYYY-MM-DD/part-00000.parquet + _manifest.json (one "
            f"table with a dt column for pandas, pyarrow, polars, DuckDB, HF datasets), and "
            f"<root>/csv/{model.name}/dt=YYYY-MM-DD/part-00000.csv."
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
        window = context.partition_time_window
        days = window_days(window)
        store = datasets.store()
        with database.connect() as conn:
            manifests = [write_partition(conn, store, model, day) for day in days]
            source_rows = model_rows_by_day(conn, model, window)
        for day, manifest in zip(days, manifests, strict=True):
            context.add_asset_metadata(
                _partition_metadata(store, model.name, day, manifest), partition_key=str(day)
            )
        rows = sum(m.rows for m in manifests)
        context.log.info(f"wrote {rows} rows over {len(days)} day(s)")
        return dg.MaterializeResult(
            metadata={
                "dagster/column_schema": dg.TableSchema(
                    columns=[dg.TableColumn(c["name"], c["type"]) for c in manifests[-1].columns]
                ),
            },
            check_results=[
                _row_count_check(
                    source_rows, {day: count_partition(store, model.name, day) for day in days}
                ),
                _pii_check([pii_findings(store, model.name, day, TEXT_COLUMNS) for day in days]),
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
