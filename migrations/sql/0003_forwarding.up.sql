-- Forwarding outbox: one row per (destination, accepted event), written in the same transaction
-- as the event, delivered by `everreach forwarder` workers (see everreach/forwarding/).
--
-- status: pending (waiting or being tried), delivered (kept for the retention period, then
-- deleted), dead (permanent failure or retry window exhausted; `everreach outbox redrive`).
-- A worker claims due rows by pushing next_attempt_at one lease ahead and stamping lease_id, so a
-- worker that dies mid-batch leaves rows that fall due again when its lease runs out.

CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    destination     text        NOT NULL,
    event_id        uuid        NOT NULL,
    payload         jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_id        uuid,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    queued_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    CONSTRAINT outbox_destination_event_key UNIQUE (destination, event_id)
);
COMMENT ON TABLE outbox IS 'Transactional outbox: deliveries of accepted events to PostHog and the webhook.';
COMMENT ON COLUMN outbox.queued_at IS 'Start of the retry window: creation, or the last redrive.';
COMMENT ON COLUMN outbox.lease_id IS 'The claim of the worker trying the row; stale claims cannot reschedule it.';

-- What workers scan: due rows of one destination, oldest first.
CREATE INDEX outbox_due_idx ON outbox (destination, next_attempt_at) WHERE status = 'pending';
-- What the retention clean-up scans.
CREATE INDEX outbox_delivered_idx ON outbox (delivered_at) WHERE status = 'delivered';
