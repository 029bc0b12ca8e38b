-- The baseline of the retention benchmark: the same events in one unpartitioned table shaped as
-- app_events was before migration 0008 (primary key id, UNIQUE (event_id), the same indexes).
-- Indexes are built after the copy (faster to set up; a table filled row by row has somewhat
-- larger indexes, which only favours the baseline's size figures).
CREATE TABLE events_unpartitioned (
    id           bigint      PRIMARY KEY,
    event_id     uuid        NOT NULL,
    event_name   text        NOT NULL,
    user_id      text,
    anonymous_id text,
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    context      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    properties   jsonb       NOT NULL DEFAULT '{}'::jsonb
);
-- Oldest first, as a table filled over time holds them: its oldest pages are at the start.
INSERT INTO events_unpartitioned
SELECT id, event_id, event_name, user_id, anonymous_id, occurred_at, received_at, sent_at, context,
       properties
FROM app_events
ORDER BY occurred_at;
ALTER TABLE events_unpartitioned ADD CONSTRAINT events_unpartitioned_event_id_key UNIQUE (event_id);
CREATE INDEX ON events_unpartitioned (occurred_at);
CREATE INDEX ON events_unpartitioned (anonymous_id);
CREATE INDEX ON events_unpartitioned (user_id, occurred_at DESC, id DESC);
CREATE INDEX ON events_unpartitioned ((properties ->> 'response_id'))
    WHERE properties ? 'response_id';
CREATE INDEX ON events_unpartitioned (event_name, (properties ->> 'response_id'));
CREATE INDEX ON events_unpartitioned (event_name, occurred_at);
