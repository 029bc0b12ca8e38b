-- A duration label per UTC day of a window of whole days: per entity key, milliseconds from its
-- first {start_event} of the day to the first {end_events} event at or after it (on any later
-- day too); aggregated over the entities that have an end ({aggregate}: median, mean or a
-- percentile, continuous). Every day of the window has a row (denominator 0 when empty).
WITH days AS ({days}),

-- Start and end events in one scan: the window's days and, for ends, every later day (an end may
-- come days after its start). Not a join of starts to ends: over the day partitions the planner
-- chose a parallel merge join whose workers each rebuilt the whole start side, slower than the
-- same join on one table; one scan and one sort do the work once. The key is sorted bytewise
-- (COLLATE "C"): it is only compared for equality, and a locale-aware sort of 240 k keys cost
-- twice the scan.
events AS (
    SELECT
        {key} COLLATE "C" AS k,
        {day} AS day,
        e.occurred_at,
        e.event_name = {start_event} AND e.occurred_at < {end} AS is_start,
        e.event_name = ANY({end_events}) AS is_end
    FROM {events} AS e
    WHERE (e.event_name = {start_event} OR e.event_name = ANY({end_events}))
        AND e.occurred_at >= {start}
        AND {key} IS NOT NULL
),

-- Per event, the first end event of its key at or after it: ordered newest first, the default
-- frame runs from the key's last event to this one and its peers (same time, so an end at the
-- start's very moment counts).
next_ends AS (
    SELECT
        k,
        day,
        occurred_at,
        is_start,
        min(occurred_at) FILTER (WHERE is_end) OVER (PARTITION BY k ORDER BY occurred_at DESC)
            AS ended_at
    FROM events
),

-- The first end after a key's first start of the day is the least of its starts' next ends that
-- day (a later start's next end is never earlier), so both are plain minimums.
durations AS (
    SELECT
        day,
        k,
        extract(EPOCH FROM min(ended_at) - min(occurred_at)) * 1000 AS ms
    FROM next_ends
    WHERE is_start
    GROUP BY day, k
    HAVING min(ended_at) IS NOT NULL
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
