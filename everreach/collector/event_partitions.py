"""Keeping app_events' day partitions ready: ahead of today, and for events that came early or late.

app_events is partitioned by UTC day of `occurred_at` (migration 0008); an event whose day has no
partition lands in the DEFAULT partition, where it is still stored and deduplicated but read by
every query, since no window can prune DEFAULT. `maintain_partitions` keeps that rare: it makes
the partitions of the retention window and the next `ahead_days` days, and moves rows waiting in
DEFAULT into partitions of their own when their day is within that span (the partition function
moves a day's rows in the transaction that attaches its partition). What stays in DEFAULT is
older than the retention horizon (the next cleanup deletes it) or further ahead than the window
(a client clock gone wrong): `default_partition_days` says what, for the asset check's warning.

The DDL lives in SQL functions of the migration (`create_event_partition`), so `everreach migrate`,
the Dagster schedule and the migration itself make partitions the same way; each is made in its
own transaction so no lock is held across days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import psycopg

from everreach.platform.sql_files import sql_folder

query = sql_folder(__package__)


@dataclass(frozen=True)
class DefaultDay:
    """Events of one UTC day waiting in the DEFAULT partition."""

    day: date
    events: int


@dataclass(frozen=True)
class Maintenance:
    """What one maintenance pass did."""

    created: list[date]
    moved_events: int
    left_in_default: list[DefaultDay]


def default_partition_days(conn: psycopg.Connection) -> list[DefaultDay]:
    """The days of the events in DEFAULT, oldest first (empty when every event has its day's)."""
    rows = conn.execute(query("default_partition_days")).fetchall()
    return [DefaultDay(day, events) for day, events in rows]


def create_partition(conn: psycopg.Connection, day: date) -> bool:
    """Make the partition of `day` (moving its rows out of DEFAULT); False if it existed."""
    return bool(conn.execute(query("create_event_partition"), {"day": day}).fetchone()[0])


def maintain_partitions(
    conn: psycopg.Connection, keep_days: int, ahead_days: int, today: date | None = None
) -> Maintenance:
    """Make the partitions of the last `keep_days` days and the next `ahead_days`, moving the
    DEFAULT partition's rows of those days into theirs. `conn` must be in autocommit mode: each
    partition is made (and filled) in a transaction of its own."""
    if not conn.autocommit:
        raise ValueError("each partition is made in a transaction of its own: use autocommit")
    today = today or datetime.now(UTC).date()
    first_day, last_day = today - timedelta(days=keep_days), today + timedelta(days=ahead_days)
    waiting = {d.day: d.events for d in default_partition_days(conn)}
    days = (first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1))
    created = [day for day in days if create_partition(conn, day)]
    moved = sum(waiting.get(day, 0) for day in created)
    return Maintenance(created, moved, default_partition_days(conn))


def maintain_event_partitions(url: str, keep_days: int, ahead_days: int) -> Maintenance:
    """`maintain_partitions` on a connection of its own to `url` (the command line, benches)."""
    with psycopg.connect(url, autocommit=True) as conn:
        return maintain_partitions(conn, keep_days, ahead_days)


@dataclass(frozen=True)
class PartitionSpan:
    """The day partitions app_events has (first and last are None when it has none)."""

    first: date | None
    last: date | None
    count: int


def partition_span(conn: psycopg.Connection) -> PartitionSpan:
    """The first and last day with a partition, and the number of partitions."""
    first, last, count = conn.execute(query("event_partition_span")).fetchone()
    return PartitionSpan(first, last, count)
