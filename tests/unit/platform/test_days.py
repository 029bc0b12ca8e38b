"""Windows of whole UTC days: what partition ranges are split into."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from everreach.platform.days import day_window, days_window, window_days


def test_a_range_window_splits_into_its_days() -> None:
    window = days_window(date(2026, 2, 27), date(2026, 3, 2))
    assert window == (datetime(2026, 2, 27, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC))
    assert window_days(window) == [
        date(2026, 2, 27),
        date(2026, 2, 28),
        date(2026, 3, 1),
        date(2026, 3, 2),
    ]
    assert window_days(day_window(date(2026, 3, 1))) == [date(2026, 3, 1)]


def test_midnights_in_another_offset_are_converted_to_utc_first() -> None:
    plus_two = timezone(timedelta(hours=2))
    window = (datetime(2026, 3, 1, 2, tzinfo=plus_two), datetime(2026, 3, 2, 2, tzinfo=plus_two))
    assert window_days(window) == [date(2026, 3, 1)]


@pytest.mark.parametrize(
    "window",
    [
        (datetime(2026, 3, 1, 6, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)),
        (datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)),
        (datetime(2026, 3, 3, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)),
    ],
)
def test_a_window_that_is_not_whole_days_is_refused(window: tuple[datetime, datetime]) -> None:
    with pytest.raises(ValueError, match="UTC midnight"):
        window_days(window)
