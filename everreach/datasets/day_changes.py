"""The change log of dataset days: which days' source rows changed after the fact, and why.

Late events announce themselves (their `received_at` is after the day's last materialization,
and so do events a quarantine replay moves in); an erasure changes a day's rows without that, so
it records the days it touched here. The freshness sensor of the Dagster edge reads both and
rebuilds the days that fell behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import class_row

from everreach.platform.sql_files import sql_folder

query = sql_folder(__package__)

ChangeReason = Literal["erasure"]


async def record_day_changes(
    conn: AsyncConnection, reason: ChangeReason, changed_rows: Mapping[date, int]
) -> None:
    """Log that `changed_rows[day]` rows of each day changed (a no-op for no days)."""
    if changed_rows:
        days = sorted(changed_rows)
        await conn.execute(
            query("record_day_changes"),
            {"reason": reason, "days": days, "changed_rows": [changed_rows[d] for d in days]},
        )


@dataclass(frozen=True)
class DaySourceState:
    """A day's source as of now, against the moment its files were last materialized."""

    day: date
    changed_at: datetime | None  # the last change of any kind (None: the day is empty)
    late_rows: int  # rows received or removed after the materialization


def days_received_since(conn: psycopg.Connection, since: datetime) -> dict[date, datetime]:
    """The days of events received after `since`, with each day's latest arrival."""
    return dict(conn.execute(query("days_received_since"), {"since": since}).fetchall())


def day_changes_after(conn: psycopg.Connection, after_id: int) -> list[tuple[int, date]]:
    """(change id, day) of the changes logged after `after_id`, oldest first."""
    return conn.execute(query("day_changes_after"), {"after_id": after_id}).fetchall()


def day_source_states(
    conn: psycopg.Connection, materialized_at: Mapping[date, datetime]
) -> list[DaySourceState]:
    """For each day, when its source last changed and the rows changed since `materialized_at`."""
    days = sorted(materialized_at)
    cursor = conn.cursor(row_factory=class_row(DaySourceState))
    return cursor.execute(
        query("day_source_state"),
        {"days": days, "materialized_at": [materialized_at[d] for d in days]},
    ).fetchall()
