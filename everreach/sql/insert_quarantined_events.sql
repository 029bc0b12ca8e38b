-- Keep events that failed the tracking plan, with the reasons; a retried one is stored once.
INSERT INTO quarantined_events
    (event_id, event_name, user_id, anonymous_id, raw, reasons, received_at)
SELECT q.event_id, q.event_name, q.user_id, q.anonymous_id, q.raw::jsonb, q.reasons::jsonb,
       %(received_at)s
FROM unnest(%(event_id)s::uuid[], %(event_name)s::text[], %(user_id)s::text[],
            %(anonymous_id)s::text[], %(raw)s::text[], %(reasons)s::text[])
     AS q(event_id, event_name, user_id, anonymous_id, raw, reasons)
ON CONFLICT (event_id) DO NOTHING
