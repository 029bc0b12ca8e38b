"""Label metrics per day, computed from the tracking plan's label definitions, with alerts.

The asset stores the day's rows in `analytics.label_metrics` and shows them as a table and a
chart of the last two weeks (a PNG inline in the metadata, also saved under the datasets root).
Alert thresholds from the product report are WARN checks: they flag a bad day without failing
the run.
"""

# Dagster reads the decorated functions' annotations at definition time: no postponed annotations.
import base64
from dataclasses import dataclass

import dagster as dg

from everreach.charts import label_chart_parts, label_chart_png
from everreach.datasets import day_window
from everreach.labels import LabelValue, compute_labels, label_history, store_labels
from everreach.sql import query
from everreach.taxonomy import TrackingPlan
from everreach_dagster.metadata import markdown_table
from everreach_dagster.partitions import partition_day
from everreach_dagster.resources import DatabaseResource, DatasetStorageResource

CHART_DAYS = 14
DISLIKE_RATE = "dislike_rate"


@dataclass(frozen=True)
class Threshold:
    """A WARN check on a day's overall metric value; days without data pass."""

    check_name: str
    metric: str
    minimum: float | None = None
    maximum: float | None = None

    @property
    def description(self) -> str:
        bound = f"at least {self.minimum:.0%}" if self.minimum is not None else ""
        bound = bound or f"at most {self.maximum:.0%}"
        return f"Warn when {self.metric} is not {bound} for the day."

    def evaluate(self, value: float | None) -> dg.AssetCheckResult:
        ok = value is None or (
            (self.minimum is None or value >= self.minimum)
            and (self.maximum is None or value <= self.maximum)
        )
        return dg.AssetCheckResult(
            check_name=self.check_name,
            passed=ok,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "value": dg.MetadataValue.float(value) if value is not None else "no data",
                "threshold": self.minimum if self.minimum is not None else self.maximum,
            },
        )


THRESHOLDS = (
    Threshold("trial_conversion_at_least_10pct", "trial_conversion_rate", minimum=0.10),
    Threshold("dislike_rate_at_most_20pct", DISLIKE_RATE, maximum=0.20),
    Threshold("paywall_ctr_at_least_25pct", "ctr_paywall", minimum=0.25),
)
LABEL_METRICS_KEY = dg.AssetKey("label_metrics")


def _metrics_table(values: list[LabelValue]) -> str:
    return markdown_table(
        ["label", "kind", "segment", "value", "numerator", "denominator"],
        [
            (
                v.label,
                v.kind,
                f"{v.dimension}={v.segment}" if v.dimension else "all",
                "" if v.value is None else f"{v.value:.4g}",
                "" if v.numerator is None else f"{v.numerator:g}",
                v.denominator,
            )
            for v in values
        ],
    )


def label_metrics_asset(
    plan: TrackingPlan, partitions: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    @dg.asset(
        key=LABEL_METRICS_KEY,
        group_name="metrics",
        deps=["stg_events", "ml_response_samples"],
        partitions_def=partitions,
        kinds={"postgres"},
        description=(
            "ML label metrics per day (and per model where the label groups by it), from the "
            "label definitions in analytics/events.yml; rows in analytics.label_metrics."
        ),
        check_specs=[
            dg.AssetCheckSpec(t.check_name, asset=LABEL_METRICS_KEY, description=t.description)
            for t in THRESHOLDS
        ],
    )
    def label_metrics(
        context: dg.AssetExecutionContext,
        database: DatabaseResource,
        datasets: DatasetStorageResource,
    ) -> dg.MaterializeResult:
        day = partition_day(context)
        window = day_window(day)
        with database.connect() as conn:
            values = compute_labels(conn, plan.labels.values(), day, window)
            store_labels(conn, day, values)
            history = label_history(conn, day, CHART_DAYS)
            dislikes, thumbs = conn.execute(query("select_dislike_rate"), window).fetchone() or (
                None,
                None,
            )
        overall = {v.label: v.value for v in values if not v.dimension}
        overall[DISLIKE_RATE] = dislikes / thumbs if thumbs else None
        png = label_chart_png(history, f"Label metrics, {CHART_DAYS} days to {day}")
        store = datasets.store()
        chart_parts = label_chart_parts(day)
        store.put_bytes(png, *chart_parts)
        image = base64.b64encode(png).decode()
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": dg.MetadataValue.int(len(values)),
                "metrics": dg.MetadataValue.md(_metrics_table(values)),
                "chart": dg.MetadataValue.md(f"![label metrics](data:image/png;base64,{image})"),
                "chart_file": store.uri_of(*chart_parts),
                **{
                    name: dg.MetadataValue.float(value)
                    for name, value in overall.items()
                    if value is not None
                },
            },
            check_results=[t.evaluate(overall.get(t.metric)) for t in THRESHOLDS],
        )

    return label_metrics
