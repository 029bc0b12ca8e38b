-- One delivery row per (destination, event), in the transaction that stores the events.
INSERT INTO outbox (destination, event_id, payload)
SELECT d.destination, d.event_id, d.payload
FROM json_to_recordset(%(rows)s::json) AS d(destination text, event_id uuid, payload jsonb)
ON CONFLICT (destination, event_id) DO NOTHING
