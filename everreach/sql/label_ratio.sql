-- A ratio label over one window: distinct numerator keys / distinct denominator keys.
-- The denominator counts the keys of denominator events in the window. When `joined` (the label
-- says `within: denominator` or groups `by` denominator properties) the numerator counts the
-- denominator's keys that also occur in a numerator event, at any time; otherwise it counts the
-- distinct keys of numerator events in the window. Rows: the overall value (segment ''), then one
-- per segment when the label has `by` properties.
WITH den AS (
    SELECT DISTINCT {den_key} AS k, {segment} AS segment
    FROM {events} AS e
    WHERE e.event_name = {den_event}
        AND e.occurred_at >= {start} AND e.occurred_at < {end}
        AND {den_key} IS NOT NULL
),

-- When joined, the numerator keeps only the denominator's keys (a semi-join), so the day's
-- query carries no more numerator keys than the day has denominator keys.
num AS (
    SELECT DISTINCT {num_key} AS k
    FROM {events} AS e
    WHERE e.event_name = {num_event}
        AND {num_key} IS NOT NULL
        AND {num_filter}
),

ratios AS (
    SELECT
        '' AS dimension,
        '' AS segment,
        CASE
            WHEN {joined}
                THEN (SELECT count(DISTINCT den.k) FROM den WHERE den.k IN (SELECT k FROM num))
            ELSE (SELECT count(*) FROM num)
        END::double precision AS numerator,
        (SELECT count(DISTINCT den.k) FROM den) AS denominator
    UNION ALL
    SELECT
        {dimension},
        den.segment,
        (count(DISTINCT den.k) FILTER (WHERE den.k IN (SELECT k FROM num)))::double precision,
        count(DISTINCT den.k)
    FROM den
    WHERE {dimension} <> ''
    GROUP BY den.segment
)

SELECT dimension, segment, numerator, denominator, numerator / nullif(denominator, 0) AS value
FROM ratios
ORDER BY dimension, segment
