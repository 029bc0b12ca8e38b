"""What one HTTP attempt at a destination means for the rows it carried.

Both destinations share the rules: 2xx is delivered; 408, 429, 5xx, other statuses and transport
failures (refused, reset, timed out) are worth retrying; any other 4xx is permanent, because the
same request would be refused again. A 429's or 503's Retry-After (seconds or an HTTP date) is
kept so the retry waits at least that long.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

import httpx

RETRYABLE_CLIENT_ERRORS = frozenset({408, 429})
ERROR_BODY_CHARS = 300


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class Attempt:
    verdict: Verdict
    error: str | None = None
    retry_after_s: float | None = None


@dataclass(frozen=True)
class OutboundRequest:
    """A batch ready to POST: destinations build these, the worker sends them."""

    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def judge(response: httpx.Response) -> Attempt:
    """The verdict on a destination's answer."""
    status = response.status_code
    if 200 <= status < 300:
        return Attempt(Verdict.DELIVERED)
    error = f"HTTP {status}: {response.text[:ERROR_BODY_CHARS]}"
    if 400 <= status < 500 and status not in RETRYABLE_CLIENT_ERRORS:
        return Attempt(Verdict.PERMANENT, error)
    return Attempt(Verdict.RETRY, error, parse_retry_after(response.headers.get("retry-after")))


def failed_to_send(exc: BaseException) -> Attempt:
    """No answer at all (refused, reset, timed out, bad URL): try again later."""
    detail = str(exc) or "no detail"
    return Attempt(Verdict.RETRY, f"{type(exc).__name__}: {detail}"[:ERROR_BODY_CHARS])
