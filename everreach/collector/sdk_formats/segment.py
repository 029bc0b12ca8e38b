"""Segment's HTTP tracking API (`/v1/batch`, `/v1/track`, `/v1/identify`, ...) as a `Submission`.

What the SDKs send (read from analytics-python and Segment's HTTP API reference):

* `/v1/batch`: `{"batch": [messages], "sentAt", "writeKey"?, "context"?}`; the single-call
  endpoints take one message whose type is the endpoint's.
* The write key: HTTP Basic auth with the key as user name (analytics-python), or `writeKey`
  in the body (for clients that cannot set headers). It must be one of
  `EVERREACH_SEGMENT_WRITE_KEYS`.
* A message: `type`, `messageId`, `userId`/`anonymousId`, `timestamp` (or
  `originalTimestamp`), `sentAt`, `properties` (track, page, screen), `traits` (identify,
  group), `event` (track), `name` (page, screen), `previousId` (alias), `groupId`, `context`.
* Limits: 32 KB per message and 500 KB per batch (settings); beyond them a 413.

Mapping to our events:

* `track` is a plan event named by `event`, checked against the tracking plan like any other.
* `identify`, `alias`, `page`, `screen` and `group` are SDK system events (stored apart in
  `sdk_system_events`, named by their type): they are calls, not product events.
* user_id is `userId`, anonymous_id is `anonymousId`; `identify` with both links them
  (segment_identify), `alias` links `previousId` -> `userId` (segment_alias).
* `messageId` is the event_id (a non-UUID, such as analytics.js's `ajs-...`, becomes a stable
  uuid5), so retries deduplicate.
* Time: `timestamp` (else `originalTimestamp`) is corrected by the same skew rule as /v1/ingest,
  using `sentAt`, rather than Segment's unconditional correction.
* From `context`, the library becomes `$lib`/`$lib_version` properties (as PostHog's SDKs send
  them), and os name, app build and device model the platform, app_build and device_model
  columns. The rest of `context` (ip, userAgent, locale...) is not stored: it is mostly PII.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

import msgspec

from everreach.collector.pipeline import AttributedEvent
from everreach.collector.sdk_formats.common import (
    Identifier,
    accepted_keys,
    event_uuid,
    require_known_keys,
    short_text,
    stringify_id,
)
from everreach.collector.submission import IdentityClaim, Submission
from everreach.collector.wire import (
    ClientTime,
    EventName,
    WireEvent,
    check_batch_size,
    convert,
    parse_json,
)
from everreach.platform.problems import ClientFault

SOURCE = "segment"
WRITE_KEYS_ENV = "EVERREACH_SEGMENT_WRITE_KEYS"
MessageType = Literal["track", "identify", "alias", "page", "screen", "group"]
MESSAGE_TYPES: tuple[str, ...] = get_args(MessageType)
_json = msgspec.json.Encoder()


class MessageFields(msgspec.Struct, kw_only=True, rename="camel"):
    """What every Segment message may carry besides its type (camelCase on the wire)."""

    message_id: str | None = None
    user_id: Identifier | None = None
    anonymous_id: Identifier | None = None
    previous_id: Identifier | None = None
    group_id: Identifier | None = None
    event: EventName | None = None
    name: str | None = None
    timestamp: ClientTime | None = None
    original_timestamp: ClientTime | None = None
    sent_at: ClientTime | None = None
    properties: dict[str, Any] = msgspec.field(default_factory=dict)
    traits: dict[str, Any] = msgspec.field(default_factory=dict)
    context: dict[str, Any] = msgspec.field(default_factory=dict)


class SegmentMessage(MessageFields, kw_only=True, rename="camel"):
    """One Segment message; unknown fields are ignored."""

    type: MessageType


# Documentation of the bodies (decoding goes through `decode_segment`): the schema a client can
# trust, with the rules JSON Schema can say: a track call names its event, a batch is not empty.
class _TrackFields(MessageFields, kw_only=True, rename="camel"):
    event: EventName


class TrackMessage(_TrackFields, kw_only=True, rename="camel", tag="track", tag_field="type"):
    """A `track` message in a batch."""


class CallMessage(MessageFields, kw_only=True, rename="camel", tag_field="type"):
    """An `identify`, `alias`, `page`, `screen` or `group` message in a batch."""


_CALL_MESSAGES = [
    msgspec.defstruct(f"{call.capitalize()}Message", [], bases=(CallMessage,), tag=call)
    for call in MESSAGE_TYPES
    if call != "track"
]


class SegmentBatch(msgspec.Struct, kw_only=True, rename="camel"):
    batch: Annotated[list[Any], msgspec.Meta(min_length=1, max_length=1000)]
    sent_at: ClientTime | None = None
    write_key: str | None = None
    context: dict[str, Any] = msgspec.field(default_factory=dict)


class TrackCall(_TrackFields, kw_only=True, rename="camel"):
    """`/v1/track`: one track message."""

    write_key: str | None = None


class SingleCall(MessageFields, kw_only=True, rename="camel"):
    """`/v1/identify`, `/v1/alias`, `/v1/page`, `/v1/screen`, `/v1/group`: one message."""

    write_key: str | None = None


def segment_json_schema(call: str) -> dict[str, Any]:
    """JSON Schema of the body of `/v1/<call>` (`batch` or a message type)."""
    if call == "batch":
        (batch, *messages), components = msgspec.json.schema_components(
            [SegmentBatch, TrackMessage, *_CALL_MESSAGES]
        )
        components["SegmentBatch"]["properties"]["batch"]["items"] = {"anyOf": messages}
        return {**batch, "$defs": components}
    (schema,), components = msgspec.json.schema_components(
        [TrackCall if call == "track" else SingleCall]
    )
    return {**schema, "$defs": components}


def basic_auth_user(authorization: str | None) -> str | None:
    """The user name of an HTTP Basic `Authorization` header (Segment's write key)."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise ClientFault(
            401, "invalid_write_key", "the Basic credentials are not valid base64"
        ) from exc
    return decoded.partition(":")[0] or None


def _write_keys(
    obj: dict[str, Any], raw_messages: list[Any], authorization: str | None
) -> list[Any]:
    """The header's key, else the body's `writeKey`, else every message's (all must have one).

    Values as given (any JSON type): `require_known_keys` refuses those that are not text.
    """
    key = basic_auth_user(authorization) or obj.get("writeKey")
    if key:
        return [key]
    keys = [raw.get("writeKey") if isinstance(raw, dict) else None for raw in raw_messages]
    if not all(keys):
        return []
    return keys


def _check_sizes(raw_messages: list[Any], path: str, max_event_bytes: int) -> None:
    for index, raw in enumerate(raw_messages):
        size = len(_json.encode(raw))
        if size > max_event_bytes:
            where = f"{path}[{index}]" if path else "the message"
            raise ClientFault(
                413,
                "event_too_large",
                f"{where} is {size} bytes; a Segment message holds at most {max_event_bytes}",
            )


def _context_fields(context: dict[str, Any]) -> dict[str, str | None]:
    def part(key: str) -> dict[str, Any]:
        value = context.get(key)
        return value if isinstance(value, dict) else {}

    return {
        "platform": short_text(part("os").get("name")),
        "app_build": short_text(part("app").get("build")),
        "device_model": short_text(part("device").get("model")),
    }


def _properties(message: SegmentMessage) -> dict[str, Any]:
    """The properties we store: the call's own data, plus the library it came from."""
    if message.type in ("identify", "group"):
        props = dict(message.traits)
    else:
        props = dict(message.properties)
    for key, value in (
        ("name", message.name),
        ("previousId", stringify_id(message.previous_id)),
        ("groupId", stringify_id(message.group_id)),
    ):
        if value is not None:
            props.setdefault(key, value)
    library = message.context.get("library")
    if isinstance(library, dict):
        props.setdefault("$lib", library.get("name"))
        props.setdefault("$lib_version", library.get("version"))
    return props


def _claim(message: SegmentMessage, event_id: uuid.UUID) -> IdentityClaim | None:
    user_id = stringify_id(message.user_id)
    if message.type == "identify":
        anonymous_id = stringify_id(message.anonymous_id)
        if user_id and anonymous_id:
            return IdentityClaim(anonymous_id, user_id, "segment_identify", event_id)
    if message.type == "alias":
        previous_id = stringify_id(message.previous_id)
        if user_id and previous_id:
            return IdentityClaim(previous_id, user_id, "segment_alias", event_id)
    return None


def translate_message(
    message: SegmentMessage, path: str
) -> tuple[AttributedEvent, IdentityClaim | None]:
    """One Segment message as our wire event, with the identity link it makes, if any."""
    name = message.event if message.type == "track" else message.type
    if not name:
        raise ClientFault(422, "invalid_event", f"`{path}.event` is required for a track call")
    event_id = event_uuid(SOURCE, message.message_id)
    wire = WireEvent(
        name=name,
        props=_properties(message),
        event_id=event_id,
        anonymous_id=stringify_id(message.anonymous_id),
        timestamp=message.timestamp or message.original_timestamp,
        sent_at=message.sent_at,
        **_context_fields(message.context),
    )
    return AttributedEvent(wire, stringify_id(message.user_id)), _claim(message, event_id)


def decode_segment(
    body: bytes,
    call: str,
    *,
    authorization: str | None,
    write_keys: str,
    max_events: int,
    max_event_bytes: int,
) -> Submission:
    """A Segment request to `/v1/<call>` as a `Submission`, or a `ClientFault`."""
    obj = parse_json(body)
    if not isinstance(obj, dict):
        raise ClientFault(422, "invalid_body", "the body must be a JSON object")
    raw_messages = obj.get("batch") if call == "batch" else [{**obj, "type": call}]
    require_known_keys(  # first: a stranger learns nothing about what a valid body looks like
        _write_keys(obj, raw_messages if isinstance(raw_messages, list) else [], authorization),
        accepted_keys(write_keys),
        what="write_key",
        env=WRITE_KEYS_ENV,
    )
    path = "$.batch" if call == "batch" else ""
    if not isinstance(raw_messages, list):
        raise ClientFault(422, "invalid_body", "`batch` must be an array of messages")
    check_batch_size(len(raw_messages), max_events)
    if not raw_messages:
        raise ClientFault(422, "empty_batch", "`batch` holds no messages")
    _check_sizes(raw_messages, path, max_event_bytes)
    messages: list[SegmentMessage] = convert(raw_messages, list[SegmentMessage], path or "$")
    sent_at = convert(obj.get("sentAt"), datetime | None, "$.sentAt")
    submission = Submission(SOURCE, events=[], sent_at=sent_at)
    for index, message in enumerate(messages):
        attributed, claim = translate_message(message, f"{path or '$'}[{index}]")
        if message.type == "track":
            submission.events.append(attributed)
        else:
            submission.system_events.append(attributed)
        if claim is not None:
            submission.identity_claims.append(claim)
    return submission
