-- A net-count label per UTC day of a window of whole days: per entity key, {plus} events minus
-- {minus} events that day; the value is the mean over the entities that got any of them that
-- day, the numerator the sum. Every day of the window has a row (denominator 0 when empty).
WITH days AS ({days}),

per_entity AS (
    SELECT
        {day} AS day,
        {key} AS k,
        count(*) FILTER (WHERE e.event_name = ANY({plus}))
        - count(*) FILTER (WHERE e.event_name = ANY({minus})) AS net
    FROM {events} AS e
    WHERE e.event_name = ANY({all_events})
        AND e.occurred_at >= {start} AND e.occurred_at < {end}
        AND {key} IS NOT NULL
    GROUP BY 1, 2
)

SELECT
    days.day,
    '' AS dimension,
    '' AS segment,
    sum(per_entity.net)::double precision AS numerator,
    count(per_entity.k) AS denominator,
    avg(per_entity.net)::double precision AS value
FROM days
LEFT JOIN per_entity ON per_entity.day = days.day
GROUP BY days.day
ORDER BY days.day
