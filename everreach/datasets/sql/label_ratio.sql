-- A ratio label per UTC day of a window of whole days: of the day's denominator keys, the share
-- that also have a numerator event; the numerator never counts a key outside the denominator, so
-- the value stays between 0 and 1. When a numerator event counts: on the same UTC day (the
-- default), at any time (`within: denominator`) or within a span after the key's first
-- denominator event of the day (`within: 24h`). Rows per day: the overall value (segment ''),
-- then one per segment when the label has `by` properties. Every day of the window has its
-- overall row, with a zero denominator when nothing happened.
WITH days AS ({days}),

-- The window's denominator events and the numerator events that can count for them ({num_bound}:
-- the window's days, every day for `within: denominator`, a span past the window's end for
-- `within: 24h`), one row each, keyed. Not a join of numerator events to denominator keys: over
-- the day partitions the planner has no statistics on a key expression, guessed millions of
-- matches and sorted both sides for a merge join, slower than the same join on one table; here
-- the plan has no join to guess. Keys are sorted bytewise (COLLATE "C"): they are only compared
-- for equality, and a locale-aware sort costs several times more.
events AS (
    SELECT
        {day} AS day,
        {den_key} COLLATE "C" AS k,
        {segment} AS segment,
        e.occurred_at,
        TRUE AS is_den
    FROM {events} AS e
    WHERE e.event_name = {den_event}
        AND e.occurred_at >= {start} AND e.occurred_at < {end}
        AND {den_key} IS NOT NULL
    UNION ALL
    SELECT {day}, {num_key} COLLATE "C", NULL, e.occurred_at, FALSE
    FROM {events} AS e
    WHERE e.event_name = {num_event}
        AND {num_bound}
        AND {num_key} IS NOT NULL
),

-- Per event, what its key's numerator events say about it ({num_seen}): whether the key has one
-- (at any time, or on the event's day), or the first one at or after the event (the default
-- frame, newest first, runs from the key's last event to this one and its peers).
timeline AS (
    SELECT day, k, segment, occurred_at, is_den, {num_seen} AS num_seen
    FROM events
),

-- Distinct per day, key and segment; `hit` ({num_hit}) whether a numerator event counts for the
-- key's first denominator event of the day in that segment: the earliest row's `num_seen` is
-- the least (a later event's first numerator event is never earlier), so plain minimums do.
den AS (
    SELECT day, k, segment, coalesce({num_hit}, FALSE) AS hit
    FROM timeline
    WHERE is_den
    GROUP BY day, k, segment
),

-- A key is a numerator key of the day when it is one in any of its segments that day.
den_hits AS (
    SELECT day, k, segment, bool_or(hit) OVER (PARTITION BY day, k) AS hit
    FROM den
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
