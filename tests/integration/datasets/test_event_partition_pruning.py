"""The queries over a window read only that window's day partitions of app_events (EXPLAIN).

A ratio label's numerator reads the partitions its `within` can count: the window's days (same
day), the window's and the span's past its end (`within: 24h`), every one (`within:
denominator`, at any time by definition); its denominator side, like every other label, reads
the window's only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from everreach.collector import maintain_partitions
from everreach.datasets.labels import label_sql
from everreach.datasets.sql_models import inline_select, load_models, materialize
from everreach.plan import load_plan
from everreach.plan.model import WITHIN_ANY_TIME, DurationLabel, RatioLabel
from everreach.platform import analytics_connection, days_window
from everreach.platform.migrations import scratch_database

DAYS_KEPT = 30


@pytest.fixture(scope="module")
def pruning_database(pg_server_url: str) -> Iterator[str]:
    """Partitions for the last 30 days and the next 14, the unpartitioned models made."""
    with (
        scratch_database(pg_server_url, "everreach_pruning") as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        maintain_partitions(conn, keep_days=DAYS_KEPT, ahead_days=14)
        for model in load_models().values():
            if not model.partitioned:
                materialize(conn, model)
        yield url


def partitions_read(conn: psycopg.Connection[Any], query: Any) -> set[str]:
    """The app_events partitions in the plan of `query`."""
    (plan,) = conn.execute(psycopg.sql.SQL("EXPLAIN (FORMAT JSON) {}").format(query)).fetchone()
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            name = node.get("Relation Name", "")
            if name.startswith("app_events_"):
                found.add(name)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(plan if not isinstance(plan, str) else json.loads(plan))
    return found


def day_window(days_ago: int) -> tuple[datetime, datetime]:
    start = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), UTC)
    start -= timedelta(days=days_ago)
    return start, start + timedelta(days=1)


def partition_of(moment: datetime) -> str:
    return f"app_events_p{moment:%Y%m%d}"


def test_label_metrics_read_only_the_partition_of_their_day(pruning_database: str) -> None:
    """Counts and ratios read their day; a duration's end event may come on a later day, so it
    reads from its day on; a numerator reads what its `within` counts (the module docstring)."""
    window = day_window(10)
    day = partition_of(window[0])
    with psycopg.connect(pruning_database) as conn:
        for label in load_plan().labels.values():
            read = partitions_read(conn, label_sql(label, window))
            if isinstance(label, DurationLabel):
                assert min(read - {"app_events_default"}) == day, label.name
            elif isinstance(label, RatioLabel) and label.numerator.within == WITHIN_ANY_TIME:
                assert day in read and len(read) > 2, label.name
            elif isinstance(label, RatioLabel) and label.numerator.within_hours == 24:
                assert read == {day, partition_of(window[1])}, label.name
            else:
                assert read == {day}, label.name


def test_the_ml_dataset_day_reads_no_partition_before_the_day_before_it(
    pruning_database: str,
) -> None:
    """Feedback comes after its response: partitions from a day before the window on only."""
    window = day_window(10)
    samples = inline_select(load_models(), "ml_response_samples", window)
    with psycopg.connect(pruning_database) as conn:
        read = partitions_read(conn, psycopg.sql.SQL(samples))
        every = {name for name, _ in conn.execute("SELECT * FROM event_partitions()")}
    earliest = partition_of(window[0] - timedelta(days=1))
    assert read == {name for name in every if name >= earliest} | {"app_events_default"}


def jit_compiled(conn: psycopg.Connection[Any], query: Any) -> bool:
    """Whether running `query` on `conn` JIT-compiled anything (EXPLAIN ANALYZE's JIT entry),
    with the cost threshold at zero so that any query would be compiled if JIT were on."""
    conn.execute("SET jit_above_cost = 0")
    analyze = psycopg.sql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) {}").format(query)
    (plan,) = conn.execute(analyze).fetchone()
    return "JIT" in (plan if not isinstance(plan, str) else json.loads(plan))[0]


def test_the_analytics_connection_never_jit_compiles_a_label_over_the_partitions(
    pruning_database: str,
) -> None:
    """JIT compiles every partition's expressions apiece: seconds for a 30-day label."""
    today = datetime.now(UTC).date()
    window = days_window(today - timedelta(days=DAYS_KEPT), today - timedelta(days=1))
    query = label_sql(load_plan().labels["dwell_ms"], window)
    with analytics_connection(pruning_database) as conn:
        assert not jit_compiled(conn, query)
        jit_available = conn.execute("SELECT pg_jit_available()").fetchone()[0]
    if jit_available:  # the same query on a plain connection is compiled: the check can fail
        with psycopg.connect(pruning_database, autocommit=True) as conn:
            assert jit_compiled(conn, query)
