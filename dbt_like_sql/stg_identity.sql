-- materialized: table
-- group: staging
-- unique_key: anonymous_id
-- description: One user per anonymous (device) id, from identity_links (filled by the collector).
--   When a device was used by several accounts, the first account seen on it wins, so every
--   anonymous id maps to exactly one person.
SELECT DISTINCT ON (anonymous_id)
    anonymous_id,
    user_id
FROM identity_links
ORDER BY anonymous_id, first_seen_at, user_id
