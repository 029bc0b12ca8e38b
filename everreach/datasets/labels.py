"""ML label metrics, computed from the label definitions of the tracking plan.

Nothing here knows a label by name: each `LabelSpec` of `analytics/events.yml` is turned into a
query by its kind (net_count, ratio, duration) from the templates `sql/label_*.sql`,
so adding a label to the plan adds a metric. A metric is computed per UTC day over the stitched
event view (`analytics.stg_events`: `distinct: user` counts the person, whose pre-auth events are
linked to their account), and per segment when the label groups `by` denominator properties.
One query per label covers a whole window of days (grouped by day), so a 30-day backfill costs
six queries, not 180: each day re-reading the same events was what made per-day runs slow.

Day semantics, per kind:
* net_count: entities that got a plus or minus event that day; value = mean net count per entity.
* ratio: denominator keys seen that day; the numerator counts those of them with a numerator
  event the same UTC day, or at any time (`within: denominator`), or within a span after the
  key's first denominator event that day (`within: 24h`). Never a key outside the denominator.
* duration: entities whose first start event that day has an end event at or after it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from everreach.datasets.sql_models import qualified
from everreach.plan import (
    WITHIN_ANY_TIME,
    DurationLabel,
    LabelSpec,
    NetCountLabel,
    RatioLabel,
    RatioTerm,
)
from everreach.platform.day_locks import lock_days
from everreach.platform.days import Window, window_days
from everreach.platform.sql_files import sql_folder

query = sql_folder(__package__)

EVENTS_MODEL = "stg_events"
TABLE = "analytics.label_metrics"
# For the label queries only (SET LOCAL): a month of keys fits in memory instead of spilling
# hashes and sorts to disk, and JIT stays off (it spent a second compiling a 50 ms query).
_QUERY_SETTINGS = ("SET LOCAL work_mem = '64MB'", "SET LOCAL jit = off")
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


_DAY = sql.SQL("(e.occurred_at AT TIME ZONE 'UTC')::date")


def _window(window: Window) -> dict[str, sql.Composable]:
    days = window_days(window)
    return {
        "start": sql.Literal(window[0]),
        "end": sql.Literal(window[1]),
        "day": _DAY,
        "days": sql.SQL(
            "SELECT generate_series({}::date, {}::date, interval '1 day')::date AS day"
        ).format(sql.Literal(days[0]), sql.Literal(days[-1])),
    }


def _numerator_terms(term: RatioTerm, window: Window) -> dict[str, sql.Composable]:
    """When a numerator event of a denominator key counts (see `RatioTerm.within`), as the
    pieces of `label_ratio.sql`: `num_bound`, which numerator events can count at all (a
    constant range, so the planner reads only those days' partitions); `num_seen`, a window over
    a key's events; `num_hit`, an aggregate of `num_seen` over a key's denominator events of a
    day and segment."""
    start, end = sql.Literal(window[0]), sql.Literal(window[1])
    any_numerator = sql.SQL("bool_or(num_seen)")
    if term.within == WITHIN_ANY_TIME:
        return {
            "num_bound": sql.SQL("TRUE"),
            "num_seen": sql.SQL("bool_or(NOT is_den) OVER (PARTITION BY k)"),
            "num_hit": any_numerator,
        }
    hours = term.within_hours
    if hours is not None:
        span = sql.SQL("{} * interval '1 hour'").format(sql.Literal(hours))
        return {
            "num_bound": sql.SQL("e.occurred_at >= {} AND e.occurred_at < {}").format(
                start, sql.Literal(window[1] + timedelta(hours=hours))
            ),
            "num_seen": sql.SQL(
                "min(occurred_at) FILTER (WHERE NOT is_den) "
                "OVER (PARTITION BY k ORDER BY occurred_at DESC)"
            ),
            "num_hit": sql.SQL("min(num_seen) < min(occurred_at) + {}").format(span),
        }
    return {
        "num_bound": sql.SQL("e.occurred_at >= {} AND e.occurred_at < {}").format(start, end),
        "num_seen": sql.SQL("bool_or(NOT is_den) OVER (PARTITION BY k, day)"),
        "num_hit": any_numerator,
    }


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
    return sql.SQL(query("label_ratio")).format(  # type: ignore[arg-type]
        events=sql.SQL(qualified(EVENTS_MODEL)),
        den_key=_key(den.distinct),
        num_key=_key(num.distinct),
        den_event=sql.Literal(den.event),
        num_event=sql.Literal(num.event),
        segment=segment,
        dimension=sql.Literal("|".join(label.by)),
        **_numerator_terms(num, window),
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
    """The query computing `label` for each day of `window`: rows of (day, dimension, segment,
    numerator, denominator, value)."""
    if isinstance(label, RatioLabel):
        return _ratio_sql(label, window)
    if isinstance(label, NetCountLabel):
        return _net_count_sql(label, window)
    if isinstance(label, DurationLabel):
        return _duration_sql(label, window)
    raise TypeError(f"no metric for label kind {label.kind!r}")


def compute_labels(
    conn: psycopg.Connection, labels: Iterable[LabelSpec], window: Window
) -> list[LabelValue]:
    """Every label's values for each day of `window`, read from `analytics.stg_events`."""
    values: list[LabelValue] = []
    with conn.transaction():
        for setting in _QUERY_SETTINGS:
            conn.execute(setting)
        rows = [(label, row) for label in labels for row in conn.execute(label_sql(label, window))]
    for label, row in rows:
        day, dimension, segment, numerator, denominator, value = row
        values.append(
            LabelValue(
                day, label.name, label.kind, dimension, segment, value, numerator, denominator
            )
        )
    return values


def store_labels(conn: psycopg.Connection, window: Window, values: list[LabelValue]) -> None:
    """Replace the window's days in `analytics.label_metrics` (idempotent re-runs, backfills)."""
    days = window_days(window)
    with conn.transaction():
        lock_days(conn, TABLE, days)
        conn.execute(query("delete_label_metrics"), (days[0], days[-1] + timedelta(days=1)))
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
    return _label_values(conn, "select_label_history", {"until": until, "days": days})


def label_values(conn: psycopg.Connection, days: list[date]) -> list[LabelValue]:
    """Every value (overall and per segment) of every label on `days`."""
    return _label_values(conn, "select_label_values", {"days": days})


def _label_values(
    conn: psycopg.Connection, name: str, params: dict[str, object]
) -> list[LabelValue]:
    with conn.cursor(row_factory=class_row(LabelValue)) as cur:
        return cur.execute(query(name), params).fetchall()


def dislike_rates(conn: psycopg.Connection, window: Window) -> dict[date, float | None]:
    """Per UTC day of `window`: dislikes among the thumbs given to that day's responses.

    Days without thumbs are absent. It reads `ml_response_samples`, not events, because the alert
    on it judges the dataset the ML engineers train on.
    """
    return dict(conn.execute(query("select_dislike_rate"), window).fetchall())
