-- For each day and the moment its files were last materialized: when its source last changed
-- (an event of the day received, or a change logged for it) and how many rows changed since
-- that materialization (events received after it, plus rows an erasure removed after it).
SELECT d.day,
       greatest(ev.last_received, ch.last_changed) AS changed_at,
       (ev.late_rows + coalesce(ch.changed_rows, 0))::bigint AS late_rows
FROM unnest(%(days)s::date[], %(materialized_at)s::timestamptz[]) AS d(day, materialized_at)
CROSS JOIN LATERAL (
    SELECT max(e.received_at) AS last_received,
           count(*) FILTER (WHERE e.received_at > d.materialized_at) AS late_rows
    FROM app_events AS e
    WHERE e.occurred_at >= d.day::timestamp AT TIME ZONE 'UTC'
      AND e.occurred_at < (d.day + 1)::timestamp AT TIME ZONE 'UTC'
) AS ev
CROSS JOIN LATERAL (
    SELECT max(c.changed_at) AS last_changed,
           sum(c.changed_rows) FILTER (WHERE c.changed_at > d.materialized_at) AS changed_rows
    FROM dataset_day_changes AS c
    WHERE c.day = d.day
) AS ch
ORDER BY d.day
