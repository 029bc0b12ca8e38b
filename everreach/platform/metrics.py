"""Prometheus metrics shared by the edges (exposed by the API at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

INGEST_EVENTS = Counter(
    "everreach_ingest_events_total",
    "Events received by the collector, by outcome.",
    ["outcome"],
)
INGEST_REJECTED_REQUESTS = Counter(
    "everreach_ingest_rejected_requests_total",
    "Collector requests refused as a whole, by problem code.",
    ["code"],
)
INGEST_SECONDS = Histogram(
    "everreach_ingest_request_seconds",
    "Time to handle a collector request that reached the database.",
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
MAIL_SENT = Counter(
    "everreach_mail_total",
    "Emails handed to the mail backend, by kind (password_reset, ...) and outcome.",
    ["kind", "outcome"],
)
