"""Forwarding accepted events to PostHog and the marketing webhook, at least once.

The collector writes one outbox row per destination in the transaction that stores the event
(`outbox.enqueue_deliveries`); a worker (`worker.Forwarder`) claims due rows, sends them in
batches and records the outcome, retrying with backoff (`backoff.RetryPolicy`) and burying rows it
cannot deliver in a dead letter that `everreach outbox redrive` empties. Ingest never waits on a
destination: it only inserts rows.
"""

from everreach.forwarding.admin import format_status, read_status, redrive_dead
from everreach.forwarding.destinations import DESTINATIONS, forward_destinations
from everreach.forwarding.posthog_persons import person_deletion_wanted
from everreach.forwarding.worker import forwarding_in_background, run_until_signalled

__all__ = [
    "DESTINATIONS",
    "format_status",
    "forward_destinations",
    "forwarding_in_background",
    "person_deletion_wanted",
    "read_status",
    "redrive_dead",
    "run_until_signalled",
]
