-- Keep events that failed the tracking plan, with the reasons; a retried one is stored once.
INSERT INTO quarantined_events
    (event_id, event_name, user_id, anonymous_id, raw, reasons, received_at)
SELECT q.event_id, q.event_name, q.user_id, q.anonymous_id, q.raw, q.reasons, %(received_at)s
FROM json_to_recordset(%(rows)s::json)
     AS q(event_id uuid, event_name text, user_id text, anonymous_id text, raw jsonb,
          reasons jsonb)
ON CONFLICT (event_id) DO NOTHING
