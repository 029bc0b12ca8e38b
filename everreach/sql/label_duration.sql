-- A duration label over one window: per entity key, milliseconds from its first {start_event}
-- in the window to the first {end_events} event at or after it; aggregated over the entities
-- that have an end ({aggregate}: median, mean or a percentile, continuous).
WITH starts AS (
    SELECT {key} AS k, min(e.occurred_at) AS started_at
    FROM {events} AS e
    WHERE e.event_name = {start_event}
        AND e.occurred_at >= {start} AND e.occurred_at < {end}
        AND {key} IS NOT NULL
    GROUP BY 1
),

durations AS (
    SELECT s.k, extract(EPOCH FROM min(e.occurred_at) - s.started_at) * 1000 AS ms
    FROM starts AS s
    JOIN {events} AS e
        ON {key} = s.k
        AND e.event_name = ANY({end_events})
        AND e.occurred_at >= s.started_at
    GROUP BY s.k, s.started_at
)

SELECT
    '' AS dimension,
    '' AS segment,
    NULL::double precision AS numerator,
    count(*) AS denominator,
    ({aggregate})::double precision AS value
FROM durations
