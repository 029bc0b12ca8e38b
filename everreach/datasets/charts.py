"""A PNG of the label metrics over recent days: one small panel per label, for people to look at.

Rendered with matplotlib's object API (a bare `Figure` draws with Agg: no display, no pyplot
state), at a size that reads well inline in the Dagster UI. An alert's threshold is drawn on its
label's panel, so a day under the line is a day the alert fired.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from everreach.datasets.alerts import Alert
from everreach.datasets.labels import LabelValue

RATIO_KIND = "ratio"


def label_chart_png(history: list[LabelValue], title: str, alerts: Iterable[Alert] = ()) -> bytes:
    """Small multiples: each label's overall daily value (ratios in %), days on the x axis, and
    the threshold of each alert on a label as a dashed red line."""
    thresholds = {a.metric: a for a in alerts}
    series: dict[str, list[tuple[object, float]]] = defaultdict(list)
    kinds: dict[str, str] = {}
    for row in history:
        kinds[row.label] = row.kind
        if row.value is not None:
            value = row.value * 100 if row.kind == RATIO_KIND else row.value
            series[row.label].append((row.day, value))
    labels = sorted(kinds)
    # Imported here, not at the top: matplotlib takes over a second to import, and every process
    # that imports this package (the API does, through privacy erasure) paid it at start-up.
    from matplotlib.figure import Figure

    columns = 3
    rows = max(1, -(-len(labels) // columns))
    fig = Figure(figsize=(11, 2.6 * rows))
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax, label in zip(axes.flat, labels, strict=False):
        points = series.get(label, [])
        if points:
            days, values = zip(*points, strict=True)
            ax.plot(days, values, marker="o", linewidth=1.5, color="#3060c0")
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        alert = thresholds.get(label)
        if alert is not None:
            scale = 100 if kinds[label] == RATIO_KIND else 1
            ax.axhline(
                alert.threshold * scale,
                color="#c03030",
                linestyle="--",
                linewidth=1,
                label=f"alert: {alert.rule.replace('_', ' ')} {alert.threshold * scale:g}",
            )
            ax.legend(fontsize=7, loc="best")
        unit = "%" if kinds[label] == RATIO_KIND else ("ms" if kinds[label] == "duration" else "")
        ax.set_title(f"{label} ({unit})" if unit else label, fontsize=10)
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(labels) :]:
        ax.axis("off")
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, metadata={"Software": None})
    return buffer.getvalue()


def label_chart_parts(day: date) -> tuple[str, ...]:
    """Where the label-metrics chart of `day` is kept under the datasets root."""
    return ("charts", "label_metrics", f"dt={day.isoformat()}", "label_metrics.png")
