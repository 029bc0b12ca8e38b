"""The collector steps every ingest endpoint shares: read the body, then prepare, rate limit, store.

/v1/ingest, the PostHog capture endpoints and the Segment HTTP API differ only in how they
decode a body into a `Submission` and how they word their reply. Order matters: the whole
request is decoded and validated first (a malformed request stores nothing), the rate limit is
charged in events for every key the request touches (all or nothing, so a refused batch neither
stores anything nor eats quota), then everything is stored in one transaction.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Request

from api.services import Services
from everreach.collector import (
    EventResult,
    Outcome,
    RequestContext,
    Submission,
    inflate,
    prepare_submission,
    rate_costs,
    read_capped,
    store_submission,
)
from everreach.platform import INGEST_EVENTS, INGEST_SECONDS, ClientFault


class IngestResponse(msgspec.Struct, kw_only=True):
    """Counts per outcome and one result per event."""

    accepted: int
    duplicates: int
    quarantined: int
    suppressed: int
    results: list[EventResult]


def summarise(results: list[EventResult]) -> dict[str, Any]:
    """The IngestResponse fields for `results` (counted in the ingest metrics too)."""
    counts = {outcome: 0 for outcome in Outcome}
    for result in results:
        counts[result.status] += 1
    for outcome, count in counts.items():
        if count:
            INGEST_EVENTS.labels(outcome.value).inc(count)
    return {
        "accepted": counts[Outcome.ACCEPTED],
        "duplicates": counts[Outcome.DUPLICATE],
        "quarantined": counts[Outcome.QUARANTINED],
        "suppressed": counts[Outcome.SUPPRESSED],
        "results": results,
    }


async def read_body(request: Request[Any, Any, Any], limit: int) -> bytes:
    """The request body, capped at `limit` bytes and decoded per its Content-Encoding."""
    raw = await read_capped(request.stream(), limit)
    return inflate(raw, request.headers.get("content-encoding"), limit)


def request_context(request: Request[Any, Any, Any]) -> RequestContext:
    return RequestContext(
        client_ip=request.client.host if request.client else "unknown",
        received_at=datetime.now(UTC),
    )


async def collect(
    svc: Services, submission: Submission, context: RequestContext
) -> list[EventResult]:
    """Prepare, rate limit and store a decoded submission; what became of each event."""
    settings = svc.settings
    prepared = prepare_submission(
        submission,
        context,
        svc.plan,
        skew_threshold_s=settings.clock_skew_threshold_s,
        max_text_chars=settings.max_text_chars,
        pseudonyms=svc.pseudonyms,
    )
    decision = await svc.limiter.acquire(rate_costs(prepared.all_events))
    if not decision.allowed:
        raise ClientFault(
            429,
            "rate_limited",
            f"more than {settings.rate_limit_events} events per "
            f"{settings.rate_limit_window_s} s for this user or device; nothing was stored",
            headers={"Retry-After": str(decision.retry_after_s)},
            extra={"retry_after_s": decision.retry_after_s},
        )
    started = time.perf_counter()
    results = await store_submission(svc.events, prepared)
    INGEST_SECONDS.observe(time.perf_counter() - started)
    return results
