"""Clock-skew correction for client timestamps.

Phones have wrong clocks. The client stamps `sent_at` when it sends a request; if that differs
from our clock on arrival by more than a threshold, the phone's clock is off by about that much,
and every client timestamp in the request is shifted by the same difference. Within the threshold
the difference is mostly network delay, and the client's timestamps are kept.

Client times are whatever the client wrote, so every step that can leave the range of a
`datetime` (years 1 to 9999) is checked: converting `0001-01-01T00:00:00+01:00` to UTC, or
shifting a timestamp by the skew of a `sent_at` thousands of years off. Such a time raises
`ClientTimeOutOfRange` naming the field, which the pipeline turns into a 422.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ClientTimeOutOfRange(ValueError):
    """A client time that cannot be expressed in UTC (or after the skew shift) as a datetime."""

    def __init__(self, field: str, value: datetime, why: str) -> None:
        super().__init__(f"`{field}` {value.isoformat()} {why}")
        self.field = field


def as_utc(moment: datetime, field: str = "timestamp") -> datetime:
    """Naive timestamps from clients are taken as UTC."""
    if moment.tzinfo is UTC:  # what clients mostly send ("Z"): nothing to convert
        return moment
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise ClientTimeOutOfRange(field, moment, "falls outside years 1-9999 in UTC") from exc


def _shifted(occurred: datetime, skew: timedelta) -> datetime:
    try:
        return occurred + skew
    except OverflowError as exc:
        raise ClientTimeOutOfRange(
            "timestamp",
            occurred,
            f"shifted by the clock skew of `sent_at` ({skew}) falls outside years 1-9999",
        ) from exc


def corrected_occurred_at(
    timestamp: datetime | None,
    sent_at: datetime | None,
    received_at: datetime,
    threshold_s: float,
) -> datetime:
    """When the event happened, in server time; `ClientTimeOutOfRange` if it cannot be said."""
    occurred = as_utc(timestamp) if timestamp is not None else None
    if sent_at is None:
        return occurred or received_at
    skew = received_at - as_utc(sent_at, "sent_at")
    if occurred is None:
        return received_at
    if abs(skew.total_seconds()) > threshold_s:
        return _shifted(occurred, skew)
    return occurred
