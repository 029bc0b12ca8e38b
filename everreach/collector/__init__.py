"""The collector: from a request body to stored events, whatever the wire format.

The path reads off the module names: `payload` (size caps, gzip) -> `wire` (our format) or
`sdk_formats/` (PostHog, Segment) -> `submission` (what one request asks us to store) ->
`pipeline` (validate, scrub, skew-correct each event with `client_time`) -> `submission_store`
-> `event_store` (one statement: events, quarantine, prompts, responses, outbox rows).
"""

from everreach.collector.payload import inflate, read_capped
from everreach.collector.pipeline import (
    AttributedEvent,
    EventResult,
    Outcome,
    RequestContext,
    rate_costs,
)
from everreach.collector.sdk_formats.posthog import (
    CaptureRequest,
    capture_json_schema,
    decode_capture,
)
from everreach.collector.sdk_formats.segment import (
    MESSAGE_TYPES,
    decode_segment,
    segment_json_schema,
)
from everreach.collector.submission import COLLECTOR_SOURCE, Submission, prepare_submission
from everreach.collector.submission_store import store_submission
from everreach.collector.wire import decode_request, request_json_schema

__all__ = [
    "COLLECTOR_SOURCE",
    "MESSAGE_TYPES",
    "AttributedEvent",
    "CaptureRequest",
    "EventResult",
    "Outcome",
    "RequestContext",
    "Submission",
    "capture_json_schema",
    "decode_capture",
    "decode_request",
    "decode_segment",
    "inflate",
    "prepare_submission",
    "rate_costs",
    "read_capped",
    "request_json_schema",
    "segment_json_schema",
    "store_submission",
]
