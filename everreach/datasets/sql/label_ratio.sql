-- A ratio label per UTC day of a window of whole days: of the day's denominator keys, the share
-- that also have a numerator event; the numerator never counts a key outside the denominator, so
-- the value stays between 0 and 1. When a numerator event counts is {num_match}: on the same UTC
-- day (the default), at any time (`within: denominator`) or within a span after the key's first
-- denominator event of the day (`within: 24h`). Rows per day: the overall value (segment ''),
-- then one per segment when the label has `by` properties. Every day of the window has its
-- overall row, with a zero denominator when nothing happened.
WITH days AS ({days}),

den AS (
    SELECT {day} AS day, {den_key} AS k, {segment} AS segment, min(e.occurred_at) AS first_at
    FROM {events} AS e
    WHERE e.event_name = {den_event}
        AND e.occurred_at >= {start} AND e.occurred_at < {end}
        AND {den_key} IS NOT NULL
    GROUP BY 1, 2, 3
),

-- The numerator events of the denominator's keys, found by joining from `den` (whose row count
-- the planner knows, so it weighs one index probe per key against one hash of all numerator
-- events): a semi-join, so the query carries no more keys than the window's denominator.
num AS (
    SELECT DISTINCT den.day, den.k
    FROM den
    JOIN {events} AS e ON {num_key} = den.k
    WHERE e.event_name = {num_event}
        AND {num_match}
),

-- Each denominator row, with whether its key is a numerator key of that day. A join, not
-- `IN (subquery)`: the planner's guess of the numerator's size can be far off, and `IN` then
-- falls back to a scan of `num` per row.
den_hits AS (
    SELECT den.day, den.k, den.segment, num.k IS NOT NULL AS hit
    FROM den
    LEFT JOIN num ON num.k = den.k AND num.day = den.day
),

-- A key counts once a day even when it falls in several segments (`den` is distinct per day,
-- key and segment, so within a segment plain counts are distinct counts).
den_days AS (
    SELECT day, count(*) AS denominator, count(*) FILTER (WHERE hit) AS numerator
    FROM (SELECT day, k, bool_or(hit) AS hit FROM den_hits GROUP BY day, k) AS day_keys
    GROUP BY day
),

ratios AS (
    SELECT
        days.day,
        '' AS dimension,
        '' AS segment,
        coalesce(den_days.numerator, 0)::double precision AS numerator,
        coalesce(den_days.denominator, 0) AS denominator
    FROM days
    LEFT JOIN den_days ON den_days.day = days.day
    UNION ALL
    SELECT
        day,
        {dimension},
        segment,
        (count(*) FILTER (WHERE hit))::double precision,
        count(*)
    FROM den_hits
    WHERE {dimension} <> ''
    GROUP BY day, segment
)

SELECT
    day, dimension, segment, numerator, denominator, numerator / nullif(denominator, 0) AS value
FROM ratios
ORDER BY day, dimension, segment
