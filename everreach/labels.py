"""ML label metrics, computed from the label definitions of the tracking plan.

Nothing here knows a label by name: each `LabelSpec` of `analytics/events.yml` is turned into a
query by its kind (net_count, ratio, duration) from the templates `everreach/sql/label_*.sql`,
so adding a label to the plan adds a metric. A metric is computed per UTC day over the stitched
event view (`analytics.stg_events`: `distinct: user` counts the person, whose pre-auth events are
linked to their account), and per segment when the label groups `by` denominator properties.

Day semantics, per kind:
* net_count: entities that got a plus or minus event that day; value = mean net count per entity.
* ratio: denominator keys seen that day; the numerator counts keys seen that day, or, with
  `within: denominator` or `by`, the day's denominator keys that ever had a numerator event.
* duration: entities whose first start event that day has an end event at or after it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg import sql

from everreach.sql import query
from everreach.sql_models import Window, qualified
from everreach.taxonomy import DurationLabel, LabelSpec, NetCountLabel, RatioLabel, RatioTerm

EVENTS_MODEL = "stg_events"
TABLE = "analytics.label_metrics"
_PERCENTILES = {"median": 0.5, "p90": 0.9, "p95": 0.95}


@dataclass(frozen=True)
class LabelValue:
    """One metric row: a label's value for a day (and a segment, '' for overall)."""

    day: date
    label: str
    kind: str
    dimension: str
    segment: str
    value: float | None
    numerator: float | None
    denominator: int


def _key(distinct: str) -> sql.Composable:
    if distinct == "user":
        return sql.SQL("e.person_id")
    return sql.SQL("(e.properties ->> {})").format(sql.Literal(distinct))


def _window(window: Window) -> dict[str, sql.Composable]:
    return {"start": sql.Literal(window[0]), "end": sql.Literal(window[1])}


def _ratio_sql(label: RatioLabel, window: Window) -> sql.Composed:
    num: RatioTerm = label.numerator
    den: RatioTerm = label.denominator
    if label.by:
        segment = sql.SQL("concat_ws('|', {})").format(
            sql.SQL(", ").join(
                sql.SQL("e.properties ->> {}").format(sql.Literal(p)) for p in label.by
            )
        )
    else:
        segment = sql.Literal("")
    joined = bool(num.within or label.by)
    window_filter = sql.SQL("e.occurred_at >= {start} AND e.occurred_at < {end}").format(
        **_window(window)
    )
    num_filter = (
        sql.SQL("{} IN (SELECT den.k FROM den)").format(_key(num.distinct))
        if joined
        else window_filter
    )
    return sql.SQL(query("label_ratio")).format(  # type: ignore[arg-type]
        events=sql.SQL(qualified(EVENTS_MODEL)),
        den_key=_key(den.distinct),
        num_key=_key(num.distinct),
        den_event=sql.Literal(den.event),
        num_event=sql.Literal(num.event),
        joined=sql.Literal(joined),
        num_filter=num_filter,
        segment=segment,
        dimension=sql.Literal("|".join(label.by)),
        **_window(window),
    )


def _net_count_sql(label: NetCountLabel, window: Window) -> sql.Composed:
    return sql.SQL(query("label_net_count")).format(  # type: ignore[arg-type]
        events=sql.SQL(qualified(EVENTS_MODEL)),
        key=_key(label.key),
        plus=sql.Literal(list(label.plus)),
        minus=sql.Literal(list(label.minus)),
        all_events=sql.Literal(list(label.events)),
        **_window(window),
    )


def _duration_sql(label: DurationLabel, window: Window) -> sql.Composed:
    if label.aggregate == "mean":
        aggregate = sql.SQL("avg(ms)")
    else:
        aggregate = sql.SQL("percentile_cont({}) WITHIN GROUP (ORDER BY ms)").format(
            sql.Literal(_PERCENTILES[label.aggregate])
        )
    return sql.SQL(query("label_duration")).format(  # type: ignore[arg-type]
        events=sql.SQL(qualified(EVENTS_MODEL)),
        key=_key(label.key),
        start_event=sql.Literal(label.start),
        end_events=sql.Literal(list(label.end)),
        aggregate=aggregate,
        **_window(window),
    )


def label_sql(label: LabelSpec, window: Window) -> sql.Composed:
    """The query computing `label` over `window`: rows of (dimension, segment,
    numerator, denominator, value)."""
    if isinstance(label, RatioLabel):
        return _ratio_sql(label, window)
    if isinstance(label, NetCountLabel):
        return _net_count_sql(label, window)
    if isinstance(label, DurationLabel):
        return _duration_sql(label, window)
    raise TypeError(f"no metric for label kind {label.kind!r}")


def compute_labels(
    conn: psycopg.Connection, labels: Iterable[LabelSpec], day: date, window: Window
) -> list[LabelValue]:
    """Every label's value for one day, read from the materialized `analytics.stg_events`."""
    values: list[LabelValue] = []
    for label in labels:
        for row in conn.execute(label_sql(label, window)).fetchall():
            dimension, segment, numerator, denominator, value = row
            values.append(
                LabelValue(
                    day, label.name, label.kind, dimension, segment, value, numerator, denominator
                )
            )
    return values


def store_labels(conn: psycopg.Connection, day: date, values: list[LabelValue]) -> None:
    """Replace the day's rows in `analytics.label_metrics` (idempotent re-runs and backfills)."""
    with conn.transaction():
        conn.execute(query("delete_label_metrics_day"), (day,))
        with conn.cursor() as cur:
            cur.executemany(
                query("insert_label_metric"),
                [
                    (
                        v.day,
                        v.label,
                        v.kind,
                        v.dimension,
                        v.segment,
                        v.value,
                        v.numerator,
                        v.denominator,
                    )
                    for v in values
                ],
            )


def label_history(conn: psycopg.Connection, until: date, days: int) -> list[LabelValue]:
    """Overall values of every label for the `days` days ending at `until`, for charts."""
    rows = conn.execute(query("select_label_history"), {"until": until, "days": days}).fetchall()
    return [LabelValue(*row) for row in rows]
