-- Privacy requests and recovery (issue 16): erasure receipts, suppressed identifiers, and the
-- per-day change log that tells the freshness sensor which dataset days to rebuild.

-- One row per erasure that removed something. No personal data: the subject appears only as a
-- keyed hash (HMAC-SHA256 with the server's privacy secret), enough to recognise a repeat.
CREATE TABLE erasure_receipts (
    receipt_id      uuid PRIMARY KEY,
    subject_hash    bytea       NOT NULL,
    requested_by    text        NOT NULL,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    deleted_rows    jsonb       NOT NULL,
    days            date[]      NOT NULL,
    posthog_deletion_queued boolean NOT NULL DEFAULT false,
    rebuilt_at      timestamptz
);
COMMENT ON TABLE erasure_receipts IS
    'What each erasure removed (rows per table, days rebuilt) and who asked; no personal data.';
COMMENT ON COLUMN erasure_receipts.rebuilt_at IS
    'When the dataset days and label metrics that held the person were re-materialized.';
CREATE INDEX erasure_receipts_subject_idx ON erasure_receipts (subject_hash);

-- Identifiers whose events are refused (`suppressed`) after an erasure: keyed hashes only.
CREATE TABLE suppressed_identifiers (
    identifier_hash bytea PRIMARY KEY,
    kind            text        NOT NULL CHECK (kind IN ('user_id', 'anonymous_id')),
    receipt_id      uuid        NOT NULL REFERENCES erasure_receipts (receipt_id),
    suppressed_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE suppressed_identifiers IS
    'HMAC of user and anonymous ids erased on request; the collector refuses their events.';

-- Days whose source rows changed other than by arriving (an erasure; a quarantine replay
-- inserts events, which arrive like late ones):
-- the freshness sensor compares these, and app_events.received_at, with each day's last
-- materialization, and requests the days that fell behind.
CREATE TABLE dataset_day_changes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    day        date        NOT NULL,
    reason     text        NOT NULL CHECK (reason IN ('erasure')),
    changed_rows bigint    NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE dataset_day_changes IS
    'Days whose events changed after the fact (erasures), for the freshness sensor.';
CREATE INDEX dataset_day_changes_day_idx ON dataset_day_changes (day);

-- "Which events arrived since T" for the freshness sensor. BRIN: received_at follows insert
-- order, so the index is a few pages and costs the collector's inserts next to nothing.
CREATE INDEX app_events_received_at_brin ON app_events USING brin (received_at);
