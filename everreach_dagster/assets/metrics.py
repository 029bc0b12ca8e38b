"""Label metrics per day, computed from the tracking plan's label definitions, with alerts.

The asset stores the day's rows in `analytics.label_metrics` and shows them as a table and a
chart of the last two weeks (a PNG inline in the metadata, also saved under the datasets root
for every day). Alert thresholds from the product report are WARN checks: they flag a bad day
without failing the run.

A backfill computes its whole range in one run (`BackfillPolicy.single_run`): one query per
label groups the range by day, where one run per day would re-read the same events each day.
Dagster then attaches the run's metadata to every partition of the range, so the table lists
each day, the figures are the last day's, and a check fails when any day of the range breaches.
"""

# Dagster reads the decorated functions' annotations at definition time: no postponed annotations.
import base64
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import dagster as dg

from everreach.datasets import (
    LabelValue,
    compute_labels,
    dislike_rates,
    label_chart_parts,
    label_chart_png,
    label_history,
    store_labels,
)
from everreach.plan import TrackingPlan
from everreach.platform import window_days
from everreach_dagster.metadata import markdown_table
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

    def breached(self, value: float | None) -> bool:
        return value is not None and (
            (self.minimum is not None and value < self.minimum)
            or (self.maximum is not None and value > self.maximum)
        )

    def evaluate(self, by_day: dict[date, dict[str, float | None]]) -> dg.AssetCheckResult:
        """Passes when no day of the run breaches; the value shown is the last day's."""
        last = by_day[max(by_day)].get(self.metric)
        bad = [
            day.isoformat()
            for day, values in by_day.items()
            if self.breached(values.get(self.metric))
        ]
        return dg.AssetCheckResult(
            check_name=self.check_name,
            passed=not bad,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "value": dg.MetadataValue.float(last) if last is not None else "no data",
                "threshold": self.minimum if self.minimum is not None else self.maximum,
                "days_breached": ", ".join(bad) or "none",
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
        ["day", "label", "kind", "segment", "value", "numerator", "denominator"],
        [
            (
                v.day.isoformat(),
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
    plan: TrackingPlan, partitions: dg.PartitionsDefinition, backfill_policy: dg.BackfillPolicy
) -> dg.AssetsDefinition:
    @dg.asset(
        key=LABEL_METRICS_KEY,
        group_name="metrics",
        deps=["stg_events", "ml_response_samples"],
        partitions_def=partitions,
        backfill_policy=backfill_policy,
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
        window = context.partition_time_window
        days = window_days(window)
        store = datasets.store()
        with database.connect() as conn:
            values = compute_labels(conn, plan.labels.values(), window)
            store_labels(conn, window, values)
            dislike_by_day = dislike_rates(conn, window)
            charts = {
                day: label_chart_png(
                    label_history(conn, day, CHART_DAYS),
                    f"Label metrics, {CHART_DAYS} days to {day}",
                )
                for day in days
            }
        for day, chart in charts.items():
            store.put_bytes(chart, *label_chart_parts(day))
        by_day: dict[date, dict[str, float | None]] = defaultdict(dict)
        for v in values:
            if not v.dimension:
                by_day[v.day][v.label] = v.value
        for day in days:
            by_day[day][DISLIKE_RATE] = dislike_by_day.get(day)
        overall = by_day[days[-1]]
        chart_parts = label_chart_parts(days[-1])
        image = base64.b64encode(charts[days[-1]]).decode()
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
            check_results=[t.evaluate(by_day) for t in THRESHOLDS],
        )

    return label_metrics
