-- A retryable failure: each row waits its own backoff. Only the lease holder may reschedule, so
-- a worker whose lease ran out cannot push back rows another worker has claimed since.
UPDATE outbox AS o
SET next_attempt_at = now() + make_interval(secs => r.delay_s),
    last_error = %(error)s,
    lease_id = NULL
FROM unnest(%(id)s::bigint[], %(delay_s)s::float8[]) AS r(id, delay_s)
WHERE o.id = r.id AND o.lease_id = %(lease_id)s AND o.status = 'pending'
