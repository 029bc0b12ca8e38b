-- One chunk of synthetic events for the retention benchmark, as the collector stores them (the
-- event and its dedup id): rows `first`..`last` of `total`, spread evenly over `days` days back
-- from now, a few minutes of jitter each. Sizes like the collector's rows: a short context and
-- three properties.
WITH generated AS (
    SELECT
        gen_random_uuid() AS event_id,
        (ARRAY['message_sent', 'response_copied', 'app_opened', 'prompt_submitted'])[1 + g %% 4]
            AS event_name,
        'user-' || (g %% 50000) AS user_id,
        'device-' || (g %% 80000) AS anonymous_id,
        now() - make_interval(secs => %(days)s * 86400.0 * g / %(total)s + (g %% 7) * 60)
            AS occurred_at,
        jsonb_build_object('platform', CASE WHEN g %% 2 = 0 THEN 'ios' ELSE 'android' END)
            AS context,
        jsonb_build_object('contact_id', 'c-' || (g %% 900), 'channel', 'sms', 'length', g %% 300)
            AS properties
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
),
ids AS (
    INSERT INTO event_ids (event_id, occurred_at)
    SELECT event_id, occurred_at FROM generated
)
INSERT INTO app_events
    (event_id, event_name, user_id, anonymous_id, occurred_at, received_at, context, properties)
SELECT event_id, event_name, user_id, anonymous_id, occurred_at, occurred_at, context, properties
FROM generated
