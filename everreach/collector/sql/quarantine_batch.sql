-- The next quarantined events to replay, oldest first (keyset on id), optionally of one event,
-- one reason code, received since a time.
SELECT id, event_id, raw, reasons, received_at
FROM quarantined_events
WHERE id > %(after_id)s
  AND (%(event)s::text IS NULL OR event_name = %(event)s)
  AND (%(reason)s::text IS NULL
       OR reasons @> jsonb_build_array(jsonb_build_object('code', %(reason)s::text)))
  AND (%(since)s::timestamptz IS NULL OR received_at >= %(since)s)
ORDER BY id
LIMIT %(limit)s
