"""Clock-skew correction for client timestamps.

Phones have wrong clocks. The client stamps `sent_at` when it sends a request; if that differs
from our clock on arrival by more than a threshold, the phone's clock is off by about that much,
and every client timestamp in the request is shifted by the same difference. Within the threshold
the difference is mostly network delay, and the client's timestamps are kept.
"""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(moment: datetime) -> datetime:
    """Naive timestamps from clients are taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def corrected_occurred_at(
    timestamp: datetime | None,
    sent_at: datetime | None,
    received_at: datetime,
    threshold_s: float,
) -> datetime:
    """When the event happened, in server time."""
    occurred = as_utc(timestamp) if timestamp is not None else None
    if sent_at is None:
        return occurred or received_at
    skew = received_at - as_utc(sent_at)
    if occurred is None:
        return received_at
    if abs(skew.total_seconds()) > threshold_s:
        return occurred + skew
    return occurred
