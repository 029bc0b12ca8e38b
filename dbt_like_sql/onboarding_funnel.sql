-- materialized: table
-- group: funnel
-- description: The onboarding funnel by daily cohort (UTC day of a person's first
--   signup_started). A step counts a person who reached it and every step before it, at any
--   time; people are stitched across the anonymous and the signed-in part of their trail.
WITH firsts AS (
    SELECT person_id, event_name, min(occurred_at) AS first_at
    FROM {{ ref('stg_events') }}
    WHERE event_name IN (
        'signup_started', 'signup_completed', 'onboarding_completed',
        'aha_reached', 'trial_started', 'purchase_succeeded'
    )
    GROUP BY person_id, event_name
),

people AS (
    SELECT
        person_id,
        min(first_at) FILTER (WHERE event_name = 'signup_started') AS started_at,
        bool_or(event_name = 'signup_completed') AS completed,
        bool_or(event_name = 'onboarding_completed') AS onboarded,
        bool_or(event_name = 'aha_reached') AS aha,
        bool_or(event_name = 'trial_started') AS trial,
        bool_or(event_name = 'purchase_succeeded') AS purchased
    FROM firsts
    GROUP BY person_id
)

SELECT
    (started_at AT TIME ZONE 'UTC')::date AS cohort_day,
    count(*) AS signup_started,
    count(*) FILTER (WHERE completed) AS signup_completed,
    count(*) FILTER (WHERE completed AND onboarded) AS onboarding_completed,
    count(*) FILTER (WHERE completed AND onboarded AND aha) AS aha_reached,
    count(*) FILTER (WHERE completed AND onboarded AND aha AND trial) AS trial_started,
    count(*) FILTER (
        WHERE completed AND onboarded AND aha AND trial AND purchased
    ) AS purchase_succeeded
FROM people
WHERE started_at IS NOT NULL
GROUP BY 1
ORDER BY 1
