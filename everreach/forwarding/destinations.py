"""Which destinations are configured, and how each shapes an event.

A destination is on when its setting is present: PostHog with `POSTHOG_API_KEY`, the webhook with
`MI_WEBHOOK_URL`, PostHog person deletions (erasure requests, not events) with
`POSTHOG_PERSONAL_API_KEY` and `POSTHOG_PROJECT_ID`. Ingest asks `forward_destinations` which
outbox rows to write (event destinations only); the worker asks `configured_senders` what to send
them with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from everreach.forwarding import posthog, posthog_persons, webhook
from everreach.forwarding.delivery import OutboundRequest
from everreach.platform.settings import Settings

if TYPE_CHECKING:  # the collector imports this module: the type alone would make a cycle
    from everreach.collector.pipeline import PreparedEvent

PAYLOADS: dict[str, Callable[[PreparedEvent], dict[str, Any]]] = {
    posthog.NAME: posthog.event_payload,
    webhook.NAME: webhook.event_payload,
}
# Every outbox destination: the event destinations, and PostHog person deletions (erasures).
DESTINATIONS = (*PAYLOADS, posthog_persons.NAME)


class Sender(Protocol):
    name: str

    def request(self, payloads: list[dict[str, Any]]) -> OutboundRequest: ...


def configured_senders(settings: Settings) -> list[Sender]:
    senders: list[Sender] = []
    if settings.posthog_api_key:
        senders.append(posthog.PostHogSender(settings.posthog_host, settings.posthog_api_key))
    if settings.mi_webhook_url:
        senders.append(webhook.WebhookSender(settings.mi_webhook_url, settings.mi_webhook_secret))
    personal_key = settings.posthog_personal_api_key
    if personal_key and settings.posthog_project_id:
        senders.append(
            posthog_persons.PersonDeletionSender(
                settings.posthog_api_host,
                settings.posthog_project_id,
                personal_key.get_secret_value(),
            )
        )
    return senders


def forward_destinations(settings: Settings) -> tuple[str, ...]:
    """The destinations every accepted event gets an outbox row for."""
    return tuple(s.name for s in configured_senders(settings) if s.name in PAYLOADS)
