"""PostHog's capture endpoints, so an app instrumented with a PostHog SDK can point at us.

`/batch/` (posthog-python, posthog-react-native, posthog-node), `/e/` and `/i/v0/e/`
(posthog-js) and `/capture/` (single events) all accept every body shape and encoding PostHog's
SDKs send (see `everreach.collector.sdk_formats.posthog`); the events then go through the
same pipeline as /v1/ingest.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post

from api.collector import IngestResponse, collect, read_body, request_context, summarise
from api.errors import problem_responses
from api.openapi import json_body_operation
from api.services import services as app_services
from everreach.collector import CaptureRequest, capture_json_schema, decode_capture


class CaptureResponse(IngestResponse, kw_only=True):
    """PostHog's `{"status": 1}` success body, with our per-event results beside it."""

    status: int = 1


class PosthogCaptureController(Controller):
    path = "/"
    tags = ["collector: PostHog"]

    @post(
        ["/batch", "/e", "/i/v0/e", "/capture"],
        request_max_body_size=None,  # capped after decoding (everreach.collector.payload)
        status_code=200,
        operation_class=json_body_operation(capture_json_schema()),
        responses=problem_responses(400, 401, 413, 415, 422, 429, 503),
        summary="PostHog capture API",
        description=(
            "PostHog's capture wire format: `{api_key, batch, sent_at}`, an array of events, or "
            "one event; JSON, gzip (Content-Encoding or `?compression=gzip-js`) or a form body "
            "`data=<base64>`. The api_key must be one of EVERREACH_POSTHOG_PROJECT_KEYS. "
            "`$`-prefixed events are stored as SDK system events, apart from plan events."
        ),
    )
    async def capture(self, request: Request[Any, Any, Any]) -> Response[CaptureResponse]:
        services = app_services(request)  # not injected: see api.services
        settings = services.settings
        body = await read_body(request, settings.max_body_bytes)
        context = request_context(request)
        submission = decode_capture(
            CaptureRequest(
                body=body,
                content_type=request.headers.get("content-type", ""),
                query={key: request.query_params[key] for key in request.query_params},
                received_at=context.received_at,
            ),
            project_keys=settings.posthog_project_keys,
            max_events=settings.max_batch_events,
            max_bytes=settings.max_body_bytes,
        )
        results = await collect(services, submission, context)
        return Response(CaptureResponse(**summarise(results)))
