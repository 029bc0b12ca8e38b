-- Delete every row stored under one person, in one statement: their events (under the user id,
-- and anonymous ones under their devices' ids), quarantined and SDK system events, prompts and
-- the responses to them, identity links, and the outbox rows of their events whatever their
-- status. Returns the rows deleted per table, and for the tables the datasets and label metrics
-- read, per UTC day those rows belonged to (the days to rebuild): (table, day or NULL, rows).
-- The dedup ids of the deleted events (`event_ids`) go with them.
WITH events AS (
    DELETE FROM app_events
    WHERE user_id = %(user_id)s
       OR (anonymous_id = ANY(%(anonymous_ids)s::text[]) AND user_id IS NULL)
    RETURNING event_id, occurred_at
),

quarantined AS (
    DELETE FROM quarantined_events
    WHERE user_id = %(user_id)s
       OR (anonymous_id = ANY(%(anonymous_ids)s::text[]) AND user_id IS NULL)
    RETURNING event_id
),

system_events AS (
    DELETE FROM sdk_system_events
    WHERE user_id = %(user_id)s
       OR (anonymous_id = ANY(%(anonymous_ids)s::text[]) AND user_id IS NULL)
    RETURNING event_id
),

deleted_prompts AS (
    DELETE FROM prompts WHERE user_id = %(user_id)s
    RETURNING prompt_id, created_at
),

deleted_responses AS (
    DELETE FROM responses
    WHERE user_id = %(user_id)s OR prompt_id IN (SELECT prompt_id FROM deleted_prompts)
    RETURNING created_at
),

links AS (
    DELETE FROM identity_links
    WHERE user_id = %(user_id)s OR anonymous_id = ANY(%(anonymous_ids)s::text[])
    RETURNING anonymous_id
),

dedup_ids AS (
    DELETE FROM event_ids
    WHERE event_id IN (SELECT event_id FROM events)
    RETURNING event_id
),

deliveries AS (
    DELETE FROM outbox
    WHERE event_id IN (SELECT event_id FROM events)
    RETURNING id
)

SELECT 'app_events' AS table_name, (occurred_at AT TIME ZONE 'UTC')::date AS day,
       count(*) AS deleted_rows
FROM events GROUP BY 2
UNION ALL
SELECT 'prompts', (created_at AT TIME ZONE 'UTC')::date, count(*) FROM deleted_prompts GROUP BY 2
UNION ALL
SELECT 'responses', (created_at AT TIME ZONE 'UTC')::date, count(*)
FROM deleted_responses GROUP BY 2
UNION ALL
SELECT 'quarantined_events', NULL, count(*) FROM quarantined
UNION ALL
SELECT 'sdk_system_events', NULL, count(*) FROM system_events
UNION ALL
SELECT 'identity_links', NULL, count(*) FROM links
UNION ALL
SELECT 'outbox', NULL, count(*) FROM deliveries
UNION ALL
SELECT 'event_ids', NULL, count(*) FROM dedup_ids
