-- A net-count label over one window: per entity key, {plus} events minus {minus} events; the
-- value is the mean over the entities that got any of them in the window, the numerator the sum.
WITH per_entity AS (
    SELECT
        {key} AS k,
        count(*) FILTER (WHERE e.event_name = ANY({plus}))
        - count(*) FILTER (WHERE e.event_name = ANY({minus})) AS net
    FROM {events} AS e
    WHERE e.event_name = ANY({all_events})
        AND e.occurred_at >= {start} AND e.occurred_at < {end}
        AND {key} IS NOT NULL
    GROUP BY 1
)

SELECT
    '' AS dimension,
    '' AS segment,
    sum(net)::double precision AS numerator,
    count(*) AS denominator,
    avg(net)::double precision AS value
FROM per_entity
