-- Claim up to `limit` due rows of one destination for one lease. SKIP LOCKED lets concurrent
-- workers take disjoint rows without waiting on each other; pushing next_attempt_at one lease
-- ahead keeps the rows away from other workers after this short transaction commits, and brings
-- them back if this worker dies before it records an outcome.
WITH due AS (
    SELECT id
    FROM outbox
    WHERE status = 'pending' AND destination = %(destination)s AND next_attempt_at <= now()
    ORDER BY next_attempt_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE outbox AS o
SET attempts = o.attempts + 1,
    lease_id = %(lease_id)s,
    next_attempt_at = now() + make_interval(secs => %(lease_s)s::float8)
FROM due
WHERE o.id = due.id
RETURNING o.id, o.event_id, o.payload, o.attempts,
          extract(epoch FROM now() - o.queued_at)::float8 AS queued_for_s
