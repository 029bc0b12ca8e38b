"""Clock-skew correction of client timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from everreach.collector.client_time import ClientTimeOutOfRange, corrected_occurred_at

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_small_difference_keeps_the_client_timestamp():
    happened = NOW - timedelta(minutes=10)
    assert corrected_occurred_at(happened, NOW - timedelta(seconds=30), NOW, 300) == happened


def test_large_difference_shifts_by_the_skew():
    phone_now = NOW + timedelta(hours=1)  # phone clock one hour ahead
    happened = phone_now - timedelta(minutes=10)
    corrected = corrected_occurred_at(happened, phone_now, NOW, 300)
    assert corrected == NOW - timedelta(minutes=10)


def test_threshold_is_exclusive_and_configurable():
    happened = NOW - timedelta(minutes=1)
    sent = NOW - timedelta(seconds=60)
    assert corrected_occurred_at(happened, sent, NOW, 60) == happened
    assert corrected_occurred_at(happened, sent, NOW, 59) == happened + timedelta(seconds=60)


def test_missing_timestamps_fall_back_to_arrival():
    assert corrected_occurred_at(None, None, NOW, 300) == NOW
    assert corrected_occurred_at(None, NOW - timedelta(days=2), NOW, 300) == NOW


def test_naive_timestamps_are_utc():
    naive = datetime(2026, 11, 25, 11, 0)
    assert corrected_occurred_at(naive, None, NOW, 300) == naive.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("timestamp", "sent_at", "field"),
    [
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))), None, "timestamp"),
        (datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-1))), None, "timestamp"),
        (None, datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))), "sent_at"),
        (datetime(2, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC), "timestamp"),
        (datetime(9998, 1, 1, tzinfo=UTC), datetime(2, 1, 1, tzinfo=UTC), "timestamp"),
    ],
)
def test_times_that_leave_the_datetime_range_name_their_field(timestamp, sent_at, field):
    with pytest.raises(ClientTimeOutOfRange) as refused:
        corrected_occurred_at(timestamp, sent_at, NOW, 300)
    assert refused.value.field == field and f"`{field}`" in str(refused.value)


@given(
    timestamp=st.datetimes(timezones=st.timezones()) | st.none(),
    sent_at=st.datetimes(timezones=st.timezones()) | st.none(),
)
@settings(max_examples=300)
def test_any_client_time_is_corrected_or_refused_by_name(timestamp, sent_at):
    try:
        corrected = corrected_occurred_at(timestamp, sent_at, NOW, 300)
    except ClientTimeOutOfRange as refused:
        assert refused.field in ("timestamp", "sent_at")
    else:
        assert corrected.tzinfo is not None
