-- The UTC days of the events waiting in the DEFAULT partition of app_events, with their counts.
SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, count(*) AS events
FROM app_events_default
GROUP BY 1
ORDER BY 1
