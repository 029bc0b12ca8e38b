"""POST /v1/ingest: the event collector (the shared steps live in `api.collector`)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post

from api.auth import optional_claims
from api.collector import IngestResponse, collect, read_body, request_context, summarise
from api.errors import problem_responses
from api.openapi import json_body_operation
from api.services import services as app_services
from everreach.collector import (
    COLLECTOR_SOURCE,
    AttributedEvent,
    Submission,
    decode_request,
    request_json_schema,
)
from everreach.platform import ClientFault


class IngestController(Controller):
    path = "/v1/ingest"
    tags = ["collector"]

    @post(
        "/",
        request_max_body_size=None,  # collector.payload caps the decoded size
        status_code=200,
        operation_class=json_body_operation(request_json_schema()),
        responses=problem_responses(400, 401, 413, 415, 422, 429, 503),
        summary="Collect one event or a batch",
        description=(
            'Body: an event `{"name", "props", "event_id"?, "anonymous_id"?, "timestamp"?, '
            '"sent_at"?, "platform"?, "app_build"?, "device_model"?}` or `{"batch": [events], '
            '"sent_at"?}`; JSON, optionally gzip or deflate encoded. Each event gets a result: '
            "accepted, duplicate, quarantined with reasons, or suppressed (the person was "
            "erased on request: nothing of theirs is stored)."
        ),
    )
    async def ingest(self, request: Request[Any, Any, Any]) -> Response[IngestResponse]:
        services = app_services(request)  # not injected: see api.services
        settings = services.settings
        claims = await optional_claims(request)
        content_type = request.headers.get("content-type", "application/json").lower()
        if "json" not in content_type:
            raise ClientFault(415, "unsupported_media_type", "send the events as application/json")
        body = await read_body(request, settings.max_body_bytes)
        wire = decode_request(body, settings.max_batch_events)
        user_id = claims.sub if claims else None
        submission = Submission(
            source=COLLECTOR_SOURCE,
            events=[AttributedEvent(event, user_id) for event in wire.events],
            sent_at=wire.sent_at,
        )
        results = await collect(services, submission, request_context(request))
        return Response(IngestResponse(**summarise(results)))
