-- One page of the caller's events, newest first, strictly after the keyset cursor. Runs as
-- everreach_reader: the RLS policy alone already limits rows to the caller; the user_id
-- predicate is there for the (user_id, occurred_at DESC, id DESC) index.
SELECT id, event_id::text, event_name, occurred_at, received_at, anonymous_id, properties, context,
       verified
FROM app_events
WHERE user_id = %(user_id)s
  AND (occurred_at, id) < (%(before_at)s, %(before_id)s)
ORDER BY occurred_at DESC, id DESC
LIMIT %(limit)s
