-- What waits in the quarantine, by event and reason code (an event with two reasons counts
-- under each), with the oldest and newest arrival.
SELECT q.event_name, r.reason ->> 'code' AS reason, count(*) AS events,
       min(q.received_at) AS oldest, max(q.received_at) AS newest
FROM quarantined_events AS q
CROSS JOIN LATERAL jsonb_array_elements(q.reasons) AS r(reason)
GROUP BY q.event_name, r.reason ->> 'code'
ORDER BY events DESC, q.event_name, reason
