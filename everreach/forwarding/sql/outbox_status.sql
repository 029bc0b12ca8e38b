-- Counts per destination. In flight: claimed under a lease that has not run out. Retrying:
-- tried before (or claimed by a worker that died) and waiting. Pending: never tried yet.
SELECT destination,
       count(*) FILTER (WHERE status = 'pending' AND NOT in_flight AND attempts = 0) AS pending,
       count(*) FILTER (WHERE status = 'pending' AND in_flight) AS in_flight,
       count(*) FILTER (WHERE status = 'pending' AND NOT in_flight AND attempts > 0) AS retrying,
       count(*) FILTER (WHERE status = 'dead') AS dead,
       count(*) FILTER (WHERE status = 'delivered') AS delivered,
       extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'pending'))::float8
           AS oldest_pending_s
FROM (
    SELECT destination, status, attempts, created_at,
           (lease_id IS NOT NULL AND next_attempt_at > now()) AS in_flight
    FROM outbox
) AS o
GROUP BY destination
ORDER BY destination
