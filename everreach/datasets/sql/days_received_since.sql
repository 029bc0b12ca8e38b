-- The UTC days of the events received after a moment, and the latest arrival among them
-- (app_events_received_at_brin keeps this a short range scan).
SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, max(received_at) AS last_received
FROM app_events
WHERE received_at > %(since)s
GROUP BY 1
