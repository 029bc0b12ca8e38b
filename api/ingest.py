"""POST /v1/ingest: the event collector.

Order matters: decode and validate the whole request first (a malformed request stores nothing),
charge the rate limit in events for every key the request touches (all or nothing, so a refused
batch neither stores anything nor eats quota), then store everything in one transaction.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, post

from api.auth import optional_claims
from api.services import services
from everreach.event_store import store_request
from everreach.ingest import EventResult, Outcome, RequestContext, prepare_request, rate_costs
from everreach.metrics import INGEST_EVENTS, INGEST_SECONDS
from everreach.payload import inflate, read_capped
from everreach.problems import ClientFault
from everreach.wire import decode_request


class IngestResponse(msgspec.Struct):
    """Counts per outcome and one result per event, in request order."""

    accepted: int
    duplicates: int
    quarantined: int
    results: list[EventResult]


def _summarise(results: list[EventResult]) -> IngestResponse:
    counts = {outcome: 0 for outcome in Outcome}
    for result in results:
        counts[result.status] += 1
    for outcome, count in counts.items():
        if count:
            INGEST_EVENTS.labels(outcome.value).inc(count)
    return IngestResponse(
        accepted=counts[Outcome.ACCEPTED],
        duplicates=counts[Outcome.DUPLICATE],
        quarantined=counts[Outcome.QUARANTINED],
        results=results,
    )


class IngestController(Controller):
    path = "/v1/ingest"
    tags = ["collector"]

    @post(
        "/",
        request_max_body_size=None,  # we cap the decoded size ourselves (see everreach.payload)
        status_code=200,
        summary="Collect one event or a batch",
        description=(
            'Body: an event `{"name", "props", "event_id"?, "anonymous_id"?, "timestamp"?, '
            '"sent_at"?, "platform"?, "app_build"?, "device_model"?}` or `{"batch": [events], '
            '"sent_at"?}`; JSON, optionally gzip or deflate encoded. Each event gets a result: '
            "accepted, duplicate, or quarantined with reasons."
        ),
    )
    async def ingest(self, request: Request[Any, Any, Any]) -> Response[IngestResponse]:
        svc = services(request)
        settings = svc.settings
        claims = optional_claims(request, svc.tokens)
        content_type = request.headers.get("content-type", "application/json").lower()
        if "json" not in content_type:
            raise ClientFault(415, "unsupported_media_type", "send the events as application/json")
        raw = await read_capped(request.stream(), settings.max_body_bytes)
        body = inflate(raw, request.headers.get("content-encoding"), settings.max_body_bytes)
        wire = decode_request(body, settings.max_batch_events)

        received_at = datetime.now(UTC)
        context = RequestContext(
            user_id=claims.sub if claims else None,
            client_ip=request.client.host if request.client else "unknown",
            received_at=received_at,
        )
        prepared = prepare_request(
            wire,
            context,
            svc.plan,
            skew_threshold_s=settings.clock_skew_threshold_s,
            max_text_chars=settings.max_text_chars,
        )
        decision = await svc.limiter.acquire(rate_costs(prepared))
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
        async with svc.pool.connection() as conn:
            results = await store_request(conn, prepared, received_at)
        INGEST_SECONDS.observe(time.perf_counter() - started)
        return Response(_summarise(results))
