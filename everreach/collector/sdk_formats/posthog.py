"""PostHog's capture wire format (`/batch/`, `/e/`, `/i/v0/e/`, `/capture/`) as a `Submission`.

What the SDKs send (read from posthog-python, posthog-js and posthog-react-native):

* Bodies: `{"api_key", "batch": [events], "sent_at"}` (posthog-python, react-native, node), a JSON
  array of events (posthog-js), or one event `{"api_key", "event", ...}` (/capture/).
* Encodings: JSON; gzip, flagged by `Content-Encoding: gzip`, by `?compression=gzip-js` (the body
  is then `text/plain`) or only by gzip's magic bytes; `?compression=base64` with a form body
  `data=<base64 JSON>`; and a form body `data=<JSON>`. LZ64 (lz-string) is refused with 415:
  posthog-js uses it only when the server advertises it, which we do not.
* The project key is the body's `api_key`/`token`, else each event's `api_key`/`token`/
  `properties.token` (posthog-js); it must be one of `EVERREACH_POSTHOG_PROJECT_KEYS`.
* An event: `event`, `distinct_id`, `properties`, `timestamp`, `uuid`, optionally `offset` (ms
  before arrival, instead of a timestamp) and `$set`/`$set_once` (kept as properties).

Mapping to our events:

* `$`-prefixed events (`$pageview`, `$identify`, `$create_alias`, `$set`, ...) are SDK system
  events: stored in `sdk_system_events`, never checked against the tracking plan.
* The user: `distinct_id` is the user_id unless the event says it is anonymous
  (`$process_person_profile: false`, or posthog-js's `$is_identified: false`), in which case it is
  the anonymous_id. An identified event's anonymous_id is `$anon_distinct_id` or `$device_id`.
* `uuid` is the event_id (a non-UUID becomes a stable uuid5), so retries deduplicate.
* `$identify` links `$anon_distinct_id` -> `distinct_id`; `$create_alias` links `distinct_id`
  (the previous id) -> `properties.alias` (posthog-python's `alias(previous_id, distinct_id)`).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qs

import msgspec

from everreach.collector.payload import inflate
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
from everreach.platform.integers import parse_bounded_int
from everreach.platform.problems import ClientFault

SOURCE = "posthog"
PROJECT_KEYS_ENV = "EVERREACH_POSTHOG_PROJECT_KEYS"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_GZIP_MAGIC = b"\x1f\x8b\x08"
_EARLIEST_SENT_AT_MS = 1_577_836_800_000  # 2020-01-01: smaller `_` values are seconds, ignored
_LATEST_SENT_AT_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last datetime
# `offset` is how long ago (ms) the event happened: never negative, and a century covers any
# queue an SDK keeps; the bound keeps `received_at - offset` inside a datetime's range.
MAX_OFFSET_MS = 100 * 366 * 86_400_000


class PosthogEvent(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    """One PostHog event as the SDKs send it; unknown fields are ignored."""

    event: EventName
    distinct_id: Identifier | None = None
    properties: dict[str, Any] = msgspec.field(default_factory=dict)
    timestamp: ClientTime | None = None
    uuid: str | None = None
    offset: Annotated[int, msgspec.Meta(ge=0, le=MAX_OFFSET_MS)] | None = None
    set: dict[str, Any] | None = msgspec.field(default=None, name="$set")
    set_once: dict[str, Any] | None = msgspec.field(default=None, name="$set_once")


class KeyedPosthogEvent(PosthogEvent, kw_only=True, forbid_unknown_fields=False):
    """One event sent alone (`/capture/`), or in an array (posthog-js), carrying the key."""

    api_key: str | None = None
    token: str | None = None


class PosthogBatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    """`{api_key, batch, sent_at}`: documents the batch form (decoding goes through
    `decode_capture`, which also reads the other shapes and encodings)."""

    api_key: str
    batch: Annotated[list[PosthogEvent], msgspec.Meta(min_length=1, max_length=1000)]
    sent_at: ClientTime | None = None


def capture_json_schema() -> dict[str, Any]:
    """JSON Schema of a capture body: a batch, an array of events or one event."""
    (batch, events, event), components = msgspec.json.schema_components(
        [
            PosthogBatch,
            Annotated[list[KeyedPosthogEvent], msgspec.Meta(min_length=1, max_length=1000)],
            KeyedPosthogEvent,
        ]
    )
    return {"anyOf": [batch, events, event], "$defs": components}


@dataclass(frozen=True)
class CaptureRequest:
    """What the edge knows about a capture request besides its (already size-capped) body."""

    body: bytes
    content_type: str
    query: Mapping[str, str]
    received_at: datetime


def _b64decode(text: str) -> bytes:
    padded = text.strip().replace(" ", "+")  # form decoding turns an unescaped '+' into ' '
    padded += "=" * (-len(padded) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ClientFault(
            400, "malformed_encoding", f"the payload is neither JSON nor valid base64: {exc}"
        ) from exc


def _looks_like_json(data: bytes) -> bool:
    return data.lstrip()[:1] in (b"{", b"[")


def _unwrap(data: bytes, compression: str, limit: int) -> bytes:
    """JSON bytes from a body or `data` field, per the compression hint and the content."""
    if compression in ("lz64", "lz-string"):
        raise ClientFault(
            415,
            "unsupported_compression",
            "lz64 compression is not supported; send gzip-js, base64 or plain JSON",
        )
    if compression in ("gzip", "gzip-js") or data.startswith(_GZIP_MAGIC):
        return inflate(data, "gzip", limit)
    if compression in ("base64", "b64") or not _looks_like_json(data):
        return _b64decode(data.decode("ascii", errors="replace"))
    return data


def decode_json(capture: CaptureRequest, limit: int) -> Any:
    """The body's JSON value, whichever way the SDK encoded it."""
    compression = capture.query.get("compression", "").lower()
    data = capture.body
    if FORM_CONTENT_TYPE in capture.content_type.lower():
        form = parse_qs(data.decode("utf-8", errors="replace"), keep_blank_values=True)
        if "data" not in form:
            raise ClientFault(400, "missing_data", "a form-encoded capture body needs `data=`")
        compression = form.get("compression", [compression])[0].lower()
        data = form["data"][0].encode("utf-8")
    return parse_json(_unwrap(data, compression, limit))


def _query_sent_at(query: Mapping[str, str]) -> datetime | None:
    """posthog-js's `_` query parameter: when it sent the request, in epoch milliseconds.

    Absent, empty or before 2020 (seconds, not milliseconds) means unknown; anything but ASCII
    digits, or past year 9999, is a 400 naming `_`.
    """
    raw = query.get("_", "")
    if not raw:
        return None
    millis = parse_bounded_int(
        raw, name="_", low=0, high=_LATEST_SENT_AT_MS, code="invalid_query_parameter"
    )
    if millis < _EARLIEST_SENT_AT_MS:
        return None
    return datetime.fromtimestamp(millis / 1000, UTC)


def _envelope(obj: Any) -> tuple[list[Any], str, dict[str, Any]]:
    """The raw events, the JSON path they sit at ("" for a single event), and body fields."""
    if isinstance(obj, list):
        return obj, "$", {}
    if isinstance(obj, dict) and "batch" in obj:
        if not isinstance(obj["batch"], list):
            raise ClientFault(422, "invalid_body", "`batch` must be an array of events")
        return obj["batch"], "$.batch", obj
    if isinstance(obj, dict) and "event" in obj:
        return [obj], "", {}
    raise ClientFault(
        422,
        "invalid_body",
        'the body must be {"batch": [events]}, an array of events or one event with `event`',
    )


def _event_key(raw: Any) -> Any:
    if not isinstance(raw, dict):
        return None
    props = raw.get("properties")
    props_key = props.get("token") if isinstance(props, dict) else None
    return raw.get("api_key") or raw.get("token") or props_key


def _project_keys(envelope: dict[str, Any], raw_events: list[Any]) -> list[Any]:
    """The body's key, else every event's (posthog-js puts it in each event's properties).

    Values as given (any JSON type): `require_known_keys` refuses those that are not text.
    """
    body_key = envelope.get("api_key") or envelope.get("token")
    if body_key:
        return [body_key]
    keys = [_event_key(raw) for raw in raw_events]
    if not all(keys):
        return []  # an event without a key: the request as a whole carries none
    return keys


def _identity(
    name: str, distinct_id: str | None, props: dict[str, Any]
) -> tuple[str | None, str | None]:
    """(user_id, anonymous_id) of an event, per the module docstring's rules."""
    if distinct_id is None:
        return None, None
    alias = props.get("alias")
    if name == "$create_alias" and isinstance(alias, str | int) and stringify_id(alias):
        return stringify_id(alias), distinct_id  # distinct_id is the previous id, alias the new
    if props.get("$process_person_profile") is False or props.get("$is_identified") is False:
        return None, distinct_id
    anonymous = props.get("$anon_distinct_id") if name == "$identify" else None
    anonymous = anonymous or props.get("$device_id")
    anonymous = stringify_id(anonymous) if isinstance(anonymous, str | int) else None
    return distinct_id, anonymous if anonymous != distinct_id else None


def _claim(
    name: str, user_id: str | None, anonymous_id: str | None, event_id: uuid.UUID
) -> IdentityClaim | None:
    """The anonymous_id -> user_id link an `$identify` or `$create_alias` makes."""
    if anonymous_id and user_id:
        if name == "$identify":
            return IdentityClaim(anonymous_id, user_id, "posthog_identify", event_id)
        if name == "$create_alias":
            return IdentityClaim(anonymous_id, user_id, "posthog_alias", event_id)
    return None


def translate_event(
    raw: PosthogEvent, received_at: datetime
) -> tuple[AttributedEvent, IdentityClaim | None]:
    """One PostHog event as our wire event, with the identity link it makes, if any."""
    props = dict(raw.properties)
    props.pop("token", None)  # the project key: a credential, checked already, never stored
    if raw.set is not None:
        props["$set"] = raw.set
    if raw.set_once is not None:
        props["$set_once"] = raw.set_once
    distinct_id = stringify_id(raw.distinct_id)
    if distinct_id is None:
        fallback = props.get("distinct_id")
        distinct_id = stringify_id(fallback) if isinstance(fallback, str | int) else None
    user_id, anonymous_id = _identity(raw.event, distinct_id, props)
    timestamp, sent_at = raw.timestamp, None
    if timestamp is None and raw.offset is not None:
        timestamp = received_at - timedelta(milliseconds=raw.offset)
        sent_at = received_at  # offset counts back from arrival: there is no skew to correct
    event_id = event_uuid(SOURCE, raw.uuid)
    wire = WireEvent(
        name=raw.event,
        props=props,
        event_id=event_id,
        anonymous_id=anonymous_id,
        timestamp=timestamp,
        sent_at=sent_at,
        platform=short_text(props.get("$os") or props.get("$os_name")),
        app_build=short_text(props.get("$app_build")),
        device_model=short_text(props.get("$device_model")),
    )
    claim = _claim(raw.event, user_id, anonymous_id, event_id)
    return AttributedEvent(wire, user_id), claim


def decode_capture(
    capture: CaptureRequest, *, project_keys: str, max_events: int, max_bytes: int
) -> Submission:
    """A capture request as a `Submission`, or a `ClientFault` saying what is wrong with it."""
    obj = decode_json(capture, max_bytes)
    raw_events, path, envelope = _envelope(obj)
    check_batch_size(len(raw_events), max_events)
    if not raw_events:
        raise ClientFault(422, "empty_batch", "the request holds no events")
    require_known_keys(
        _project_keys(envelope, raw_events),
        accepted_keys(project_keys),
        what="api_key",
        env=PROJECT_KEYS_ENV,
    )
    if path:
        events: list[PosthogEvent] = convert(raw_events, list[PosthogEvent], path)
    else:
        events = [convert(obj, PosthogEvent, "$")]
    sent_at = convert(envelope.get("sent_at"), datetime | None, "$.sent_at")
    submission = Submission(SOURCE, events=[], sent_at=sent_at or _query_sent_at(capture.query))
    for raw in events:
        attributed, claim = translate_event(raw, capture.received_at)
        is_system = raw.event.startswith("$")
        (submission.system_events if is_system else submission.events).append(attributed)
        if claim is not None:
            submission.identity_claims.append(claim)
    return submission
