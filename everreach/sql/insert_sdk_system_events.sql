-- Store a request's SDK system events ($pageview, $identify, Segment identify/page...) apart from
-- the plan events; an event_id already stored is skipped, RETURNING names the new ones.
INSERT INTO sdk_system_events
    (event_id, source, event_name, user_id, anonymous_id, occurred_at, received_at, sent_at,
     context, properties)
SELECT e.event_id, %(source)s, e.event_name, e.user_id, e.anonymous_id, e.occurred_at,
       %(received_at)s, e.sent_at, e.context::jsonb, e.properties::jsonb
FROM unnest(%(event_id)s::uuid[], %(event_name)s::text[], %(user_id)s::text[],
            %(anonymous_id)s::text[], %(occurred_at)s::timestamptz[], %(sent_at)s::timestamptz[],
            %(context)s::text[], %(properties)s::text[])
     AS e(event_id, event_name, user_id, anonymous_id, occurred_at, sent_at, context, properties)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
