-- Store a request's SDK system events ($pageview, $identify, Segment identify/page...) apart from
-- the plan events; an event_id already stored is skipped, RETURNING names the new ones.
INSERT INTO sdk_system_events
    (event_id, source, event_name, user_id, anonymous_id, occurred_at, received_at, sent_at,
     context, properties)
SELECT e.event_id, %(source)s, e.event_name, e.user_id, e.anonymous_id, e.occurred_at,
       e.received_at, e.sent_at, e.context, e.properties
FROM json_to_recordset(%(rows)s::json)
     AS e(event_id uuid, event_name text, user_id text, anonymous_id text,
          occurred_at timestamptz, sent_at timestamptz, received_at timestamptz, context jsonb,
          properties jsonb)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
