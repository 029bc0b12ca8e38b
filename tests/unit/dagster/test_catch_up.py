"""Choosing runs for a set of days, and the late-data sensor's cursor."""

from __future__ import annotations

from datetime import date

from everreach_dagster.catch_up import consecutive_runs
from everreach_dagster.sensors.freshness import FreshnessCursor, Waiting


def test_days_become_one_run_per_stretch_of_consecutive_days() -> None:
    days = [date(2026, 3, 5), date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 2)]
    assert consecutive_runs(days) == [
        (date(2026, 3, 1), date(2026, 3, 2)),
        (date(2026, 3, 5), date(2026, 3, 5)),
    ]
    assert consecutive_runs([]) == []


def test_the_cursor_survives_a_round_trip_and_starts_empty() -> None:
    cursor = FreshnessCursor("2026-03-01T00:00:00+00:00", 7, {"2026-02-27": Waiting("t", 3)})
    assert FreshnessCursor.parse(cursor.dump()) == cursor
    assert FreshnessCursor.parse(None) == FreshnessCursor()
