"""Prometheus metrics of the forwarder (served with the rest at the API's /metrics, or by
`everreach forwarder --metrics-port`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

FORWARD_SENT = Counter(
    "everreach_forward_sent_total",
    "Events delivered to a destination.",
    ["destination"],
)
FORWARD_FAILED = Counter(
    "everreach_forward_failed_total",
    "Events in failed delivery attempts (each retry counts again).",
    ["destination"],
)
FORWARD_DEAD = Counter(
    "everreach_forward_dead_total",
    "Events moved to the dead letter (permanent failure or retry window exhausted).",
    ["destination"],
)
FORWARD_OLDEST_PENDING = Gauge(
    "everreach_forward_oldest_pending_seconds",
    "Age of the oldest event not yet delivered to a destination (0 when none).",
    ["destination"],
)
