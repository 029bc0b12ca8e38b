-- A ratio label per UTC day of a window of whole days: distinct numerator keys / distinct
-- denominator keys. The denominator counts the keys of the day's denominator events. When
-- `joined` (the label says `within: denominator` or groups `by` denominator properties) the
-- numerator counts the day's denominator keys that also occur in a numerator event, at any time;
-- otherwise it counts the distinct keys of the day's numerator events. Rows per day: the overall
-- value (segment ''), then one per segment when the label has `by` properties. Every day of the
-- window has its overall row, with a zero denominator when nothing happened.
WITH days AS ({days}),

den AS (
    SELECT DISTINCT {day} AS day, {den_key} AS k, {segment} AS segment
    FROM {events} AS e
    WHERE e.event_name = {den_event}
        AND e.occurred_at >= {start} AND e.occurred_at < {end}
        AND {den_key} IS NOT NULL
),

-- When joined, the numerator keeps only the denominator's keys (a semi-join), so the query
-- carries no more numerator keys than the window has denominator keys; one pass serves all days.
num AS (
    SELECT DISTINCT {num_day} AS day, {num_key} AS k
    FROM {num_source}
    WHERE e.event_name = {num_event}
        AND {num_key} IS NOT NULL
        AND {num_filter}
),

-- Each denominator row, with whether its key is a numerator key (joined: at any time, as `num`
-- then has no day; else that day). A join, not `IN (subquery)`: the planner's guess of the
-- numerator's size can be far off, and `IN` then falls back to a scan of `num` per row.
den_hits AS (
    SELECT den.day, den.k, den.segment, num.k IS NOT NULL AS hit
    FROM den
    LEFT JOIN num ON num.k = den.k AND (num.day IS NULL OR num.day = den.day)
),

-- A key counts once a day even when it falls in several segments (`den` is distinct per day,
-- key and segment, so within a segment plain counts are distinct counts).
den_days AS (
    SELECT day, count(*) AS denominator, count(*) FILTER (WHERE hit) AS joined_numerator
    FROM (SELECT day, k, bool_or(hit) AS hit FROM den_hits GROUP BY day, k) AS day_keys
    GROUP BY day
),

num_days AS (
    SELECT num.day, count(*) AS numerator
    FROM num
    GROUP BY num.day
),

ratios AS (
    SELECT
        days.day,
        '' AS dimension,
        '' AS segment,
        CASE
            WHEN {joined} THEN coalesce(den_days.joined_numerator, 0)
            ELSE coalesce(num_days.numerator, 0)
        END::double precision AS numerator,
        coalesce(den_days.denominator, 0) AS denominator
    FROM days
    LEFT JOIN den_days ON den_days.day = days.day
    LEFT JOIN num_days ON num_days.day = days.day
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
