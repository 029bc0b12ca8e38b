"""The collector: from a request body to stored events, whatever the wire format.

The path reads off the module names: `payload` (size caps, gzip) -> `wire` (our format) or
`sdk_formats/` (PostHog, Segment) -> `submission` (what one request asks us to store) ->
`pipeline` (validate, scrub, skew-correct each event with `client_time`) -> `suppressed_events`
(erased people's events withheld) -> `submission_store`
-> `event_store` (one statement: events, quarantine, prompts, responses, outbox rows).
`event_partitions` keeps the day partitions of the event store ready (migrate, Dagster).
"""

from everreach.collector.event_partitions import (
    DefaultDay,
    Maintenance,
    default_partition_days,
    maintain_event_partitions,
    maintain_partitions,
    partition_span,
)
from everreach.collector.group_commit import GroupCommit
from everreach.collector.payload import inflate, read_capped
from everreach.collector.pipeline import (
    AttributedEvent,
    EventResult,
    Outcome,
    RequestContext,
    rate_costs,
)
from everreach.collector.quarantine_replay import (
    QuarantineGroup,
    ReplayReport,
    ReplaySelection,
    quarantine_status,
    replay_as_configured,
    replay_quarantine,
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
    "DefaultDay",
    "EventResult",
    "GroupCommit",
    "Maintenance",
    "Outcome",
    "QuarantineGroup",
    "ReplayReport",
    "ReplaySelection",
    "RequestContext",
    "Submission",
    "capture_json_schema",
    "decode_capture",
    "decode_request",
    "decode_segment",
    "default_partition_days",
    "inflate",
    "maintain_event_partitions",
    "maintain_partitions",
    "partition_span",
    "prepare_submission",
    "quarantine_status",
    "rate_costs",
    "read_capped",
    "replay_as_configured",
    "replay_quarantine",
    "request_json_schema",
    "segment_json_schema",
    "store_submission",
]
