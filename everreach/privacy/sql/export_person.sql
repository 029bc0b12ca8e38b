-- Everything else stored about one person, one JSON object per row ({"table", "row"}), in the
-- order of the tables: the same rows an erasure deletes (see erase_person.sql). Read through a
-- server-side cursor, so the caller holds a batch at a time whatever the person's history.
SELECT json_build_object('table', 'app_events', 'row', to_json(e))::text
FROM app_events AS e
WHERE e.user_id = %(user_id)s
   OR (e.anonymous_id = ANY(%(anonymous_ids)s::text[]) AND e.user_id IS NULL)
UNION ALL
SELECT json_build_object('table', 'quarantined_events', 'row', to_json(q))::text
FROM quarantined_events AS q
WHERE q.user_id = %(user_id)s
   OR (q.anonymous_id = ANY(%(anonymous_ids)s::text[]) AND q.user_id IS NULL)
UNION ALL
SELECT json_build_object('table', 'sdk_system_events', 'row', to_json(s))::text
FROM sdk_system_events AS s
WHERE s.user_id = %(user_id)s
   OR (s.anonymous_id = ANY(%(anonymous_ids)s::text[]) AND s.user_id IS NULL)
UNION ALL
SELECT json_build_object('table', 'prompts', 'row', to_json(p))::text
FROM prompts AS p
WHERE p.user_id = %(user_id)s
UNION ALL
SELECT json_build_object('table', 'responses', 'row', to_json(r))::text
FROM responses AS r
WHERE r.user_id = %(user_id)s
   OR r.prompt_id IN (SELECT prompt_id FROM prompts WHERE user_id = %(user_id)s)
UNION ALL
SELECT json_build_object('table', 'identity_links', 'row', to_json(l))::text
FROM identity_links AS l
WHERE l.user_id = %(user_id)s OR l.anonymous_id = ANY(%(anonymous_ids)s::text[])
