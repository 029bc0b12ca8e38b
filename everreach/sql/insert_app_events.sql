-- Insert a request's valid events in one statement; an event_id already stored is skipped.
-- RETURNING tells the caller which events are new (accepted) and which were duplicates.
-- The rows arrive as one JSON array: Postgres parses it in C, which costs far less than
-- adapting one array parameter per column in Python.
INSERT INTO app_events
    (event_id, event_name, user_id, anonymous_id, occurred_at, received_at, sent_at,
     context, properties)
SELECT e.event_id, e.event_name, e.user_id, e.anonymous_id, e.occurred_at, %(received_at)s,
       e.sent_at, e.context, e.properties
FROM json_to_recordset(%(rows)s::json)
     AS e(event_id uuid, event_name text, user_id text, anonymous_id text,
          occurred_at timestamptz, sent_at timestamptz, context jsonb, properties jsonb)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
