"""Segment's HTTP tracking API, so an app instrumented with a Segment SDK can point at us.

`/v1/batch` and the single calls `/v1/track`, `/v1/identify`, `/v1/alias`, `/v1/page`,
`/v1/screen`, `/v1/group` (see `everreach.collector.sdk_formats.segment`); the events then go
through the same pipeline as /v1/ingest. Errors are problem details that also carry
Segment's `message` field, which Segment's SDKs log.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post

from api.collector import IngestResponse, collect, read_body, request_context, summarise
from api.errors import problem_response, problem_responses
from api.openapi import json_body_operation
from api.services import services as app_services
from everreach.collector import MESSAGE_TYPES, decode_segment, segment_json_schema
from everreach.platform import ClientFault


class SegmentResponse(IngestResponse, kw_only=True):
    """Segment's `{"success": true}` body, with our per-event results beside it."""

    success: bool = True


def _segment_fault(request: Request[Any, Any, Any], exc: ClientFault) -> Response[Any]:
    extra = {**exc.extra, "message": exc.detail}
    return problem_response(exc.status, exc.code, exc.detail, headers=exc.headers, extra=extra)


_DESCRIPTION = (
    "Write key as HTTP Basic user name or `writeKey` in the body; it must be one of "
    "EVERREACH_SEGMENT_WRITE_KEYS. At most 32 KB per message and 500 KB per request. track "
    "messages are plan events; the other calls are SDK system events."
)
_PROBLEMS = problem_responses(400, 401, 413, 415, 422, 429, 503)
_SINGLE_CALLS = [call for call in MESSAGE_TYPES if call != "track"]


class SegmentController(Controller):
    path = "/v1"
    tags = ["collector: Segment"]
    exception_handlers = {ClientFault: _segment_fault}
    request_max_body_size = None  # capped after decoding (everreach.collector.payload)

    async def _receive(self, request: Request[Any, Any, Any]) -> Response[SegmentResponse]:
        services = app_services(request)  # not injected: see api.services
        settings = services.settings
        body = await read_body(request, settings.segment_max_batch_bytes)
        context = request_context(request)
        submission = decode_segment(
            body,
            request.url.path.rstrip("/").rsplit("/", 1)[-1],
            authorization=request.headers.get("authorization"),
            write_keys=settings.segment_write_keys,
            max_events=settings.max_batch_events,
            max_event_bytes=settings.segment_max_event_bytes,
        )
        results = await collect(services, submission, context)
        return Response(SegmentResponse(**summarise(results)))

    @post(
        "/batch",
        status_code=200,
        summary="Segment HTTP tracking API: a batch of messages",
        description="`{batch: [messages], sentAt, writeKey?}`. " + _DESCRIPTION,
        operation_class=json_body_operation(segment_json_schema("batch")),
        responses=_PROBLEMS,
    )
    async def batch(self, request: Request[Any, Any, Any]) -> Response[SegmentResponse]:
        return await self._receive(request)

    @post(
        "/track",
        status_code=200,
        summary="Segment HTTP tracking API: one track call",
        description="One message naming its `event`. " + _DESCRIPTION,
        operation_class=json_body_operation(segment_json_schema("track")),
        responses=_PROBLEMS,
    )
    async def track(self, request: Request[Any, Any, Any]) -> Response[SegmentResponse]:
        return await self._receive(request)

    @post(
        [f"/{call}" for call in _SINGLE_CALLS],
        status_code=200,
        summary="Segment HTTP tracking API: one identify, alias, page, screen or group call",
        description="One message of the endpoint's type. " + _DESCRIPTION,
        operation_class=json_body_operation(segment_json_schema("identify")),
        responses=_PROBLEMS,
    )
    async def call(self, request: Request[Any, Any, Any]) -> Response[SegmentResponse]:
        return await self._receive(request)
