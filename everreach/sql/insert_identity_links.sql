-- Record anonymous_id -> user_id links; the first sighting of a pair wins.
INSERT INTO identity_links (anonymous_id, user_id, source, first_seen_at)
SELECT l.anonymous_id, l.user_id, l.source, l.seen_at
FROM unnest(%(anonymous_id)s::text[], %(user_id)s::text[], %(source)s::text[],
            %(seen_at)s::timestamptz[])
     AS l(anonymous_id, user_id, source, seen_at)
ON CONFLICT (anonymous_id, user_id) DO NOTHING
