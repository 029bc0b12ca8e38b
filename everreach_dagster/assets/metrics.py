"""Label metrics per day, computed from the tracking plan's label definitions, with alerts.

The asset stores the day's rows in `analytics.label_metrics` and shows them as a table and a
chart of the last two weeks (a PNG inline in the metadata, also saved under the datasets root
for every day). The product report's alert thresholds are judged per day
(`everreach.datasets.alerts`): each day's verdicts are stored beside the metrics and shown on
that day's materialization ("alerts fired").

A backfill computes its whole range in one run (`BackfillPolicy.single_run`): one query per
label groups the range by day, where one run per day would re-read the same events each day.
The run still reports one materialization per day, each with that day's figures, chart and
verdicts. The WARN checks read the stored verdicts of the recent days, not the run's range, so
backfilling an old day changes that day's verdict only and never hides a day that breaches.
"""

# Dagster reads the decorated functions' annotations at definition time: no postponed annotations.
import base64
from collections import defaultdict
from datetime import date

import dagster as dg

from everreach.datasets import (
    ALERTS,
    DISLIKE_RATE,
    Alert,
    LabelValue,
    Verdict,
    compute_labels,
    dislike_rates,
    judge,
    label_chart_parts,
    label_chart_png,
    label_history,
    recent_verdicts,
    store_labels,
    store_verdicts,
)
from everreach.plan import TrackingPlan
from everreach.platform import window_days
from everreach_dagster.metadata import markdown_table
from everreach_dagster.resources import DatabaseResource, DatasetStorageResource

CHART_DAYS = 14
ALERT_LOOKBACK_DAYS = 14
LABEL_METRICS_KEY = dg.AssetKey("label_metrics")
STATUS_TEXT = {"breached": "FIRED", "ok": "ok", "no_data": "no data"}


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


def _value_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _day_metadata(
    values: list[LabelValue],
    overall: dict[str, float | None],
    verdicts: list[Verdict],
    chart: bytes,
    chart_file: str,
) -> dict[str, object]:
    """One day's materialization: its rows, values, chart and which alerts fired."""
    fired = [v.alert for v in verdicts if v.status == "breached"]
    image = base64.b64encode(chart).decode()
    return {
        "dagster/row_count": dg.MetadataValue.int(len(values)),
        "alerts_fired": ", ".join(fired) or "none",
        "alerts": dg.MetadataValue.md(
            markdown_table(
                ["alert", "verdict", "value", "threshold"],
                [
                    (v.alert, STATUS_TEXT[v.status], _value_text(v.value), f"{v.threshold:g}")
                    for v in verdicts
                ],
            )
        ),
        "metrics": dg.MetadataValue.md(_metrics_table(values)),
        "chart": dg.MetadataValue.md(f"![label metrics](data:image/png;base64,{image})"),
        "chart_file": chart_file,
        **{
            name: dg.MetadataValue.float(value)
            for name, value in overall.items()
            if value is not None
        },
    }


def alert_check_result(alert: Alert, verdicts: list[Verdict]) -> dg.AssetCheckResult:
    """The alert over the recent judged days: fails when any breaches, or when none has data.

    The metadata lists the days that breach and a table of every day's verdict, so the UI
    shows per day whether the alert fired.
    """
    mine = [v for v in verdicts if v.alert == alert.name]
    breached = [v.day.isoformat() for v in mine if v.status == "breached"]
    judged = [v for v in mine if v.status != "no_data"]
    if breached:
        status = f"fired on {len(breached)} day(s)"
    elif judged:
        status = "ok on every day with data"
    else:
        status = "no data"
    return dg.AssetCheckResult(
        asset_key=LABEL_METRICS_KEY,
        check_name=alert.name,
        passed=bool(judged) and not breached,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "status": status,
            "days_breached": ", ".join(breached) or "none",
            "days_without_data": ", ".join(v.day.isoformat() for v in mine if v.status == "no_data")
            or "none",
            "threshold": dg.MetadataValue.float(alert.threshold),
            "per_day": dg.MetadataValue.md(
                markdown_table(
                    ["day", "verdict", "value"],
                    [
                        (v.day.isoformat(), STATUS_TEXT[v.status], _value_text(v.value))
                        for v in reversed(mine)
                    ],
                )
            ),
        },
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
            "label definitions in analytics/events.yml; rows in analytics.label_metrics, alert "
            "verdicts per day in analytics.alert_verdicts."
        ),
        check_specs=[
            dg.AssetCheckSpec(a.name, asset=LABEL_METRICS_KEY, description=a.description)
            for a in ALERTS
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
            by_day: dict[date, dict[str, float | None]] = defaultdict(dict)
            for v in values:
                if not v.dimension:
                    by_day[v.day][v.label] = v.value
            dislike_by_day = dislike_rates(conn, window)
            for day in days:
                by_day[day][DISLIKE_RATE] = dislike_by_day.get(day)
            verdicts = judge(ALERTS, days, by_day)
            store_verdicts(conn, days, verdicts)
            charts = {
                day: label_chart_png(
                    label_history(conn, day, CHART_DAYS),
                    f"Label metrics, {CHART_DAYS} days to {day}",
                    ALERTS,
                )
                for day in days
            }
            recent = recent_verdicts(conn, ALERT_LOOKBACK_DAYS)
        for day in days:
            store.put_bytes(charts[day], *label_chart_parts(day))
            context.add_asset_metadata(
                _day_metadata(
                    [v for v in values if v.day == day],
                    by_day[day],
                    [v for v in verdicts if v.day == day],
                    charts[day],
                    store.uri_of(*label_chart_parts(day)),
                ),
                partition_key=day.isoformat(),
            )
        return dg.MaterializeResult(
            check_results=[alert_check_result(a, recent) for a in ALERTS],
        )

    return label_metrics
