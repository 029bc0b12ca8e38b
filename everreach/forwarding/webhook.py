"""The marketing-intelligence webhook: batches of events, signed with HMAC-SHA256.

Body: `{"events": [{event_id, name, user_id, anonymous_id, occurred_at, context, properties}]}`
(properties already PII-scrubbed). Headers:

- `X-EverReach-Timestamp`: Unix seconds when the request was signed.
- `X-EverReach-Signature`: `v1=` + hex HMAC-SHA256, keyed with `MI_WEBHOOK_SECRET`, over the
  bytes `<timestamp>.` followed by the raw request body.

How a receiver verifies a request (Python; any language with HMAC-SHA256 works the same way):

    timestamp = request.headers["X-EverReach-Timestamp"]
    expected = "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body,
                                hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(expected, request.headers["X-EverReach-Signature"])
    fresh = abs(time.time() - int(timestamp)) <= 300

Accept only when both hold. Signing the timestamp with the body stops a captured request from
being replayed later; hash the raw bytes as received, before any JSON parsing. Retries are signed
again with a new timestamp, and each event carries its `event_id` for the receiver to dedup
(delivery is at least once). Without `MI_WEBHOOK_SECRET` requests go unsigned (the original
deployment's behaviour) and the worker logs a warning at start.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from everreach.forwarding.delivery import OutboundRequest

if TYPE_CHECKING:  # the collector imports this module: the type alone would make a cycle
    from everreach.collector.pipeline import PreparedEvent

NAME = "webhook"
TIMESTAMP_HEADER = "X-EverReach-Timestamp"
SIGNATURE_HEADER = "X-EverReach-Signature"

_json = msgspec.json.Encoder()


def event_payload(event: PreparedEvent) -> dict[str, Any]:
    """The event as the webhook receives it (stored in the outbox at ingest)."""
    return {
        "event_id": str(event.event_id),
        "name": event.name,
        "user_id": event.user_id,
        "anonymous_id": event.anonymous_id,
        "occurred_at": event.occurred_at.isoformat(),
        "context": event.context,
        "properties": event.properties,
    }


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-EverReach-Signature` value for a body signed at `timestamp`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"v1={digest.hexdigest()}"


class WebhookSender:
    name = NAME

    def __init__(
        self, url: str, secret: str | None, clock: Callable[[], float] = time.time
    ) -> None:
        self._url = url
        self._secret = secret
        self._clock = clock

    @property
    def signs(self) -> bool:
        return bool(self._secret)

    def request(self, payloads: list[dict[str, Any]]) -> OutboundRequest:
        body = _json.encode({"events": payloads})
        headers = {"content-type": "application/json"}
        if self._secret:
            timestamp = str(int(self._clock()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = signature(self._secret, timestamp, body)
        return OutboundRequest(self._url, body, headers)
