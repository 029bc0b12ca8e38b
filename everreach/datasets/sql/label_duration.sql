-- A duration label per UTC day of a window of whole days: per entity key, milliseconds from its
-- first {start_event} of the day to the first {end_events} event at or after it (on any later
-- day too); aggregated over the entities that have an end ({aggregate}: median, mean or a
-- percentile, continuous). Every day of the window has a row (denominator 0 when empty).
WITH days AS ({days}),

starts AS (
    SELECT {day} AS day, {key} AS k, min(e.occurred_at) AS started_at
    FROM {events} AS e
    WHERE e.event_name = {start_event}
        AND e.occurred_at >= {start} AND e.occurred_at < {end}
        AND {key} IS NOT NULL
    GROUP BY 1, 2
),

durations AS (
    SELECT s.day, s.k, extract(EPOCH FROM min(e.occurred_at) - s.started_at) * 1000 AS ms
    FROM starts AS s
    JOIN {events} AS e
        ON {key} = s.k
        AND e.event_name = ANY({end_events})
        AND e.occurred_at >= s.started_at
        -- Implied by the line above; a constant lets the planner skip the days before the window.
        AND e.occurred_at >= {start}
    GROUP BY s.day, s.k, s.started_at
)

SELECT
    days.day,
    '' AS dimension,
    '' AS segment,
    NULL::double precision AS numerator,
    count(durations.k) AS denominator,
    ({aggregate})::double precision AS value
FROM days
LEFT JOIN durations ON durations.day = days.day
GROUP BY days.day
ORDER BY days.day
