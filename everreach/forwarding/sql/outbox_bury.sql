-- Permanent failure or retry window exhausted: to the dead letter, keeping the last error.
UPDATE outbox
SET status = 'dead', last_error = %(error)s, lease_id = NULL
WHERE id = ANY(%(id)s::bigint[]) AND lease_id = %(lease_id)s AND status = 'pending'
