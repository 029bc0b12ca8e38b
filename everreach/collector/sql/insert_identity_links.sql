-- Record anonymous_id -> user_id links; the first sighting of a pair wins.
INSERT INTO identity_links (anonymous_id, user_id, source, first_seen_at)
SELECT l.anonymous_id, l.user_id, l.source, l.seen_at
FROM json_to_recordset(%(rows)s::json)
     AS l(anonymous_id text, user_id text, source text, seen_at timestamptz)
ON CONFLICT (anonymous_id, user_id) DO NOTHING
