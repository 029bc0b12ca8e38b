"""The collector's wire format: one event, or `{"batch": [...]}` of events.

msgspec decodes and type-checks in one pass; a type error names the JSON path of the fault
(`$.batch[3].name`), which goes back to the client verbatim so it can fix the right field.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from itertools import chain, compress
from operator import attrgetter
from typing import Annotated, Any

import msgspec

from everreach.platform.problems import ClientFault

ShortText = Annotated[str, msgspec.Meta(max_length=200)]
EventName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
MAX_PROPERTY_DEPTH = 32
# A client time: RFC 3339 in the published schema (msgspec documents a datetime as a bare string
# because it also reads times without an offset, which it takes as UTC).
ClientTime = Annotated[datetime, msgspec.Meta(extra_json_schema={"format": "date-time"})]


class WireEvent(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    """One event as a client sends it; unknown top-level fields are ignored."""

    name: EventName
    props: dict[str, Any] = msgspec.field(default_factory=dict)
    event_id: uuid.UUID | None = None
    anonymous_id: ShortText | None = None
    timestamp: ClientTime | None = None
    sent_at: ClientTime | None = None
    platform: ShortText | None = None
    app_build: ShortText | None = None
    device_model: ShortText | None = None


class _DecodedBatch(msgspec.Struct, forbid_unknown_fields=False):
    """`{"batch": [...], "sent_at": ...}` as the fast path decodes it straight from the JSON
    text. Unlike the documented `WireBatch`, no length bounds: the limit is the configured
    `max_events`, checked after decoding."""

    batch: list[WireEvent]
    sent_at: ClientTime | None = None


_BATCH_DECODER = msgspec.json.Decoder(_DecodedBatch)


class WireRequest(msgspec.Struct, frozen=True):
    """The decoded request: its events and the batch-level `sent_at`, if any."""

    events: list[WireEvent]
    sent_at: datetime | None
    is_batch: bool


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether nesting goes deeper than `limit` (iterative: no recursion on hostile input)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


_CONTAINER_TYPES = frozenset({dict, list})
_PROPS = attrgetter("props")


def _any_props_too_deep(events: list[WireEvent]) -> bool:
    """Whether the typed-decoded properties of any event nest deeper than MAX_PROPERTY_DEPTH.

    Most property values are scalars, which cannot be too deep. The values that are objects or
    arrays are picked out of every event's properties at once, in C (`compress` over a `map` of
    exact type tests), and only they are walked, each one level below the top as inside its
    event's properties: the same depths as walking every event's properties, without a Python
    call per event. msgspec decodes JSON objects and arrays to exact `dict` and `list`, so testing
    the exact type is enough.
    """
    values = list(chain.from_iterable(map(dict.values, map(_PROPS, events))))
    nested = list(compress(values, map(_CONTAINER_TYPES.__contains__, map(type, values))))
    return bool(nested) and _depth_exceeds(nested, MAX_PROPERTY_DEPTH)


def _without_nul(value: Any) -> Any:
    """The value with NUL characters removed from every string and key.

    Postgres text and jsonb cannot hold U+0000; left in, it would fail the whole transaction. The
    caller has already bounded the depth, so this recursion is safe.
    """
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {k.replace("\x00", ""): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def convert(obj: Any, target: Any, path: str) -> Any:
    """`obj` as `target`, or a 422 whose detail names the JSON path (`path`) of the fault."""
    try:
        return msgspec.convert(obj, target)
    except msgspec.ValidationError as exc:
        message = str(exc).replace("`$", f"`{path}", 1)
        raise ClientFault(422, "invalid_event", message) from exc


def parse_json(body: bytes) -> Any:
    """The JSON value of a collector body, depth-bounded and free of NULs, or a `ClientFault`.

    Shared by every collector format (ours and the SDK-compatible ones): the same body limits
    hold whichever endpoint a client calls.
    """
    if not body.strip():
        raise ClientFault(400, "empty_body", "the request body is empty")
    try:
        obj = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise ClientFault(400, "malformed_json", f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise ClientFault(
            422, "too_deep", f"the body nests deeper than {MAX_PROPERTY_DEPTH} levels"
        ) from exc
    if isinstance(obj, dict | list) and _depth_exceeds(obj, MAX_PROPERTY_DEPTH + 3):
        # + 3: the envelope, the batch list and the event object
        raise ClientFault(
            422, "too_deep", f"event properties nest deeper than {MAX_PROPERTY_DEPTH} levels"
        )
    if b"\\u0000" in body:
        obj = _without_nul(obj)
    return obj


def check_batch_size(count: int, max_events: int) -> None:
    """Refuse (413) a batch of more than `max_events` events."""
    if count > max_events:
        raise ClientFault(
            413,
            "batch_too_large",
            f"a batch holds at most {max_events} events; this one has {count}",
        )


def _decode_valid_batch(body: bytes, max_events: int) -> WireRequest | None:
    """A well-formed batch decoded in one typed pass, or None to take the checked path.

    Decoding to Python values and then converting them cost a fifth of the collector's CPU;
    msgspec can check the types while it reads the JSON. Anything unusual (not a batch, a type
    error, too many or no events, too deep, a NUL) returns None, and `decode_checked` decodes the
    body again so the client gets the precise error: the fast path never decides an error.
    """
    if b'"batch"' not in body or b"\\u0000" in body:
        return None
    try:
        decoded = _BATCH_DECODER.decode(body)
    except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        return None
    events = decoded.batch
    if not 0 < len(events) <= max_events or _any_props_too_deep(events):
        return None
    return WireRequest(events=events, sent_at=decoded.sent_at, is_batch=True)


def decode_request(body: bytes, max_events: int) -> WireRequest:
    """Decode a collector body or raise a `ClientFault` naming what is wrong."""
    return _decode_valid_batch(body, max_events) or decode_checked(body, max_events)


def decode_checked(body: bytes, max_events: int) -> WireRequest:
    """Decode step by step (JSON, envelope, limits, types), raising the precise `ClientFault`."""
    obj = parse_json(body)
    if not isinstance(obj, dict):
        raise ClientFault(
            422, "invalid_body", 'the body must be an event object or {"batch": [events]}'
        )
    if "batch" in obj:
        raw_events = obj["batch"]
        if not isinstance(raw_events, list):
            raise ClientFault(422, "invalid_body", "`batch` must be an array of events")
        check_batch_size(len(raw_events), max_events)
        if not raw_events:
            raise ClientFault(422, "empty_batch", "`batch` holds no events")
        events = convert(raw_events, list[WireEvent], "$.batch")
        sent_at = convert(obj.get("sent_at"), datetime | None, "$.sent_at")
    else:
        events = [convert(obj, WireEvent, "$")]
        sent_at = None
    return WireRequest(events=events, sent_at=sent_at, is_batch="batch" in obj)


class WireBatch(msgspec.Struct, kw_only=True):
    """`{"batch": [...]}`: documents the batch form (decoding goes through `decode_request`)."""

    batch: Annotated[list[WireEvent], msgspec.Meta(min_length=1, max_length=1000)]
    sent_at: ClientTime | None = None


def request_json_schema() -> dict[str, Any]:
    """JSON Schema of a collector body: one event or a batch (for the OpenAPI document)."""
    (event, batch), components = msgspec.json.schema_components([WireEvent, WireBatch])
    # A body with `batch` is a batch, whatever else it holds: an event never has that key.
    components["WireEvent"]["not"] = {"required": ["batch"]}
    return {"anyOf": [event, batch], "$defs": components}
