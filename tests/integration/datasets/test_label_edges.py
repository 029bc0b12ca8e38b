"""Label semantics at the edges the day partitions make easy to get wrong: an event the label
counts may sit in a partition after the window (a later day, a day still in the future), or
before it ("at any time"), and the bounds of a start or a span are inclusive or not.

Events are written straight into app_events over partitions for the last 30 days and the next
14, one day D (five days ago) as the window.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from everreach.collector import maintain_partitions
from everreach.datasets.labels import LabelValue, compute_labels
from everreach.datasets.sql_models import load_models, materialize
from everreach.plan import load_plan
from everreach.platform import analytics_connection
from everreach.platform.days import day_window
from everreach.platform.migrations import scratch_database

D = datetime.now(UTC).date() - timedelta(days=5)
LATER = D + timedelta(days=10)  # a future day partition (five days from now)
BEFORE = D - timedelta(days=2)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


# (event, user, properties, when)
EVENTS: list[tuple[str, str, dict[str, Any], datetime]] = [
    # dwell_ms. r1: rendered twice on D; a copy before the first render does not end it, a like
    # two days later does: 2 days from the first render. r2: copied at the very moment it was
    # rendered: 0 ms. r3: liked on a day still in the future: 10 days. r4: never reacted to.
    ("response_copied", "w", {"response_id": "r1"}, at(D, 9)),
    ("response_rendered", "w", {"response_id": "r1"}, at(D, 10)),
    ("response_rendered", "w", {"response_id": "r1"}, at(D, 11)),
    ("response_liked", "w", {"response_id": "r1"}, at(D + timedelta(days=2), 10)),
    ("response_rendered", "w", {"response_id": "r2"}, at(D, 12)),
    ("response_copied", "w", {"response_id": "r2"}, at(D, 12)),
    ("response_rendered", "w", {"response_id": "r3"}, at(D, 13)),
    ("response_liked", "w", {"response_id": "r3"}, at(LATER, 13)),
    ("response_rendered", "w", {"response_id": "r4"}, at(D, 14)),
    # copy_rate (at any time, by model). g1 copied before the window, g2 in a future partition,
    # g3 never; g4 falls in two models on D and is copied: one key of the day, a hit in both.
    *(
        ("ai_response_generated", "w", {"response_id": r, "model": m}, at(D, 9))
        for r, m in (("g1", "a"), ("g2", "a"), ("g3", "b"), ("g4", "a"), ("g4", "b"))
    ),
    ("response_copied", "w", {"response_id": "g1"}, at(BEFORE, 9)),
    ("response_copied", "w", {"response_id": "g2"}, at(LATER, 9)),
    ("response_copied", "w", {"response_id": "g4"}, at(D, 10)),
    # paywall_purchase_24h: within 24 h of the day's first paywall, the end excluded. p buys
    # 23 h 59 min after its first paywall (a second one that day does not move the start); q
    # buys exactly 24 h after, and before its paywall that day: neither counts.
    ("paywall_shown", "p", {}, at(D, 10)),
    ("paywall_shown", "p", {}, at(D, 22)),
    ("purchase_succeeded", "p", {}, at(D + timedelta(days=1), 9, 59)),
    ("paywall_shown", "q", {}, at(D, 10)),
    ("purchase_succeeded", "q", {}, at(D, 9)),
    ("purchase_succeeded", "q", {}, at(D + timedelta(days=1), 10)),
]


@pytest.fixture(scope="module")
def values(pg_server_url: str) -> Iterator[dict[tuple[str, str], LabelValue]]:
    """Every label's values on D, by (label, segment)."""
    with (
        scratch_database(pg_server_url, "everreach_label_edges") as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        maintain_partitions(conn, keep_days=30, ahead_days=14)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO app_events (event_id, event_name, user_id, occurred_at, properties) "
                "VALUES (%s, %s, %s, %s, %s)",
                [
                    (uuid.uuid4(), name, user, when, Jsonb(props))
                    for name, user, props, when in EVENTS
                ],
            )
        for model in load_models().values():
            if not model.partitioned:
                materialize(conn, model)
        with analytics_connection(url) as analytics:
            got = compute_labels(analytics, load_plan().labels.values(), day_window(D))
        yield {(v.label, v.segment): v for v in got}


def test_a_duration_ends_at_the_first_end_at_or_after_the_first_start_on_any_later_day(
    values: dict[tuple[str, str], LabelValue],
) -> None:
    dwell = values[("dwell_ms", "")]
    assert dwell.denominator == 3  # r1, r2, r3: r4 has no end
    assert dwell.value == pytest.approx(2 * 86_400_000)  # the median of 0 ms, 2 days, 10 days


def test_a_numerator_at_any_time_counts_before_the_window_and_in_a_future_partition(
    values: dict[tuple[str, str], LabelValue],
) -> None:
    overall = values[("copy_rate", "")]
    assert (overall.numerator, overall.denominator) == (3, 4)
    a, b = values[("copy_rate", "a")], values[("copy_rate", "b")]
    assert (a.numerator, a.denominator) == (3, 3)
    assert (b.numerator, b.denominator) == (1, 2)


def test_a_numerator_within_a_span_counts_from_the_first_denominator_event_to_before_its_end(
    values: dict[tuple[str, str], LabelValue],
) -> None:
    purchase = values[("paywall_purchase_24h", "")]
    assert (purchase.numerator, purchase.denominator) == (1, 2)
