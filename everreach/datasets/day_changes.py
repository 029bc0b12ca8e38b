"""The change log of dataset days: which days' source rows changed after the fact, and why.

Late events announce themselves (their `received_at` is after the day's last materialization,
and so do events a quarantine replay moves in); an erasure changes a day's rows without that, so
it records the days it touched here. The freshness sensor of the Dagster edge reads both and
rebuilds the days that fell behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Literal

from psycopg import AsyncConnection

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
