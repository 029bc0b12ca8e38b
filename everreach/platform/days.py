"""UTC days and half-open windows of whole days: the unit of every partition of the platform.

A Dagster partition range (a backfill run over many days) arrives as one window; the assets
split it into its days with `window_days`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

Window = tuple[datetime, datetime]
"""A half-open time window ``[start, end)``: a partition's, a query's or a retention's."""


def day_window(day: date) -> Window:
    """The UTC day as a half-open window."""
    return days_window(day, day)


def days_window(first: date, last: date) -> Window:
    """The window of whole UTC days from `first` to `last`, both included."""
    start = datetime.combine(first, time(0), tzinfo=UTC)
    return start, datetime.combine(last, time(0), tzinfo=UTC) + timedelta(days=1)


def window_days(window: Window) -> list[date]:
    """The UTC days of a window of whole days, oldest first."""
    start, end = (moment.astimezone(UTC) for moment in window)
    if start.time() != time(0) or end.time() != time(0) or end <= start:
        raise ValueError(f"a window of days runs from one UTC midnight to another, not {window}")
    return [start.date() + timedelta(days=n) for n in range((end - start).days)]
