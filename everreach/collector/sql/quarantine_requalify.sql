-- Replayed events that still fail keep their place with the current plan's reasons.
UPDATE quarantined_events AS q
SET reasons = r.reasons
FROM json_to_recordset(%(rows)s::json) AS r(event_id uuid, reasons jsonb)
WHERE q.event_id = r.event_id AND q.reasons IS DISTINCT FROM r.reasons
