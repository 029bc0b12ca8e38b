"""Which destinations are configured, and how each shapes an event.

A destination is on when its setting is present: PostHog with `POSTHOG_API_KEY`, the webhook with
`MI_WEBHOOK_URL`. Ingest asks `forward_destinations` which outbox rows to write; the worker asks
`configured_senders` what to send them with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from everreach.forwarding import posthog, webhook
from everreach.forwarding.delivery import OutboundRequest
from everreach.platform.settings import Settings

if TYPE_CHECKING:  # the collector imports this module: the type alone would make a cycle
    from everreach.collector.pipeline import PreparedEvent

PAYLOADS: dict[str, Callable[[PreparedEvent], dict[str, Any]]] = {
    posthog.NAME: posthog.event_payload,
    webhook.NAME: webhook.event_payload,
}
DESTINATIONS = tuple(PAYLOADS)


class Sender(Protocol):
    name: str

    def request(self, payloads: list[dict[str, Any]]) -> OutboundRequest: ...


def configured_senders(settings: Settings) -> list[Sender]:
    senders: list[Sender] = []
    if settings.posthog_api_key:
        senders.append(posthog.PostHogSender(settings.posthog_host, settings.posthog_api_key))
    if settings.mi_webhook_url:
        senders.append(webhook.WebhookSender(settings.mi_webhook_url, settings.mi_webhook_secret))
    return senders


def forward_destinations(settings: Settings) -> tuple[str, ...]:
    """The destinations every accepted event gets an outbox row for."""
    return tuple(sender.name for sender in configured_senders(settings))
