"""PostHog's batch capture API: `POST {host}/batch/` with the project API key.

Each event becomes `{event, distinct_id, properties, timestamp, uuid}`: the distinct_id is the
user id, else the device's anonymous id; properties are the scrubbed ones we stored; the uuid is
our event_id, so PostHog drops the duplicates an at-least-once retry may send. An event with
neither id (a pre-auth event without an anonymous_id) is sent personless: its event_id stands in
as distinct_id and `$process_person_profile: false` keeps PostHog from inventing a person.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from everreach.forwarding.delivery import OutboundRequest

if TYPE_CHECKING:  # the collector imports this module: the type alone would make a cycle
    from everreach.collector.pipeline import PreparedEvent

NAME = "posthog"

_json = msgspec.json.Encoder()


def event_payload(event: PreparedEvent) -> dict[str, Any]:
    """The event as PostHog's batch API takes it (stored in the outbox at ingest)."""
    properties = dict(event.properties)
    distinct_id = event.user_id or event.anonymous_id
    if not distinct_id:
        distinct_id = str(event.event_id)
        properties["$process_person_profile"] = False
    return {
        "event": event.name,
        "distinct_id": distinct_id,
        "properties": properties,
        "timestamp": event.occurred_at.isoformat(),
        "uuid": str(event.event_id),
    }


class PostHogSender:
    name = NAME

    def __init__(self, host: str, api_key: str) -> None:
        self._url = f"{host.rstrip('/')}/batch/"
        self._api_key = api_key

    def request(self, payloads: list[dict[str, Any]]) -> OutboundRequest:
        body = _json.encode({"api_key": self._api_key, "batch": payloads})
        return OutboundRequest(self._url, body, {"content-type": "application/json"})
