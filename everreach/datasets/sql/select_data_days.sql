-- The first and the last UTC day with an event or a response (NULLs on an empty database).
SELECT
    (min(first) AT TIME ZONE 'UTC')::date,
    (max(last) AT TIME ZONE 'UTC')::date
FROM (
    SELECT min(occurred_at), max(occurred_at) FROM app_events
    UNION ALL
    SELECT min(created_at), max(created_at) FROM responses
) AS bounds (first, last)
