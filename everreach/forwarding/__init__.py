"""Forwarding accepted events to PostHog and the marketing webhook, at least once.

The collector writes one outbox row per destination in the transaction that stores the event
(`outbox.enqueue_deliveries`); a worker (`worker.Forwarder`) claims due rows, sends them in
batches and records the outcome, retrying with backoff (`backoff.RetryPolicy`) and burying rows it
cannot deliver in a dead letter that `everreach outbox redrive` empties. Ingest never waits on a
destination: it only inserts rows.
"""
