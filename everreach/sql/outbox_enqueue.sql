-- One delivery row per (destination, event), in the transaction that stores the events.
INSERT INTO outbox (destination, event_id, payload)
SELECT d.destination, d.event_id, d.payload::jsonb
FROM unnest(%(destination)s::text[], %(event_id)s::uuid[], %(payload)s::text[])
     AS d(destination, event_id, payload)
ON CONFLICT (destination, event_id) DO NOTHING
