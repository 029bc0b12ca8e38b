-- materialized: view
-- group: staging
-- description: Accepted events with the person they belong to: the user id, else the user the
--   device's anonymous id was linked to (pre-auth events join their later account), else the
--   anonymous id. Label metrics with `distinct: user` count person_id.
SELECT
    e.event_id,
    e.event_name,
    e.user_id,
    e.anonymous_id,
    COALESCE(e.user_id, link.user_id, e.anonymous_id) AS person_id,
    e.occurred_at,
    e.received_at,
    e.properties
FROM app_events AS e
LEFT JOIN {{ ref('stg_identity') }} AS link ON link.anonymous_id = e.anonymous_id
