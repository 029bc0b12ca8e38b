"""Clock-skew correction of client timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from everreach.collector.client_time import corrected_occurred_at

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
