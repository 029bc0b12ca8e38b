-- Age in seconds of the oldest undelivered (pending) event, per destination.
SELECT destination, extract(epoch FROM now() - min(created_at))::float8
FROM outbox
WHERE status = 'pending'
GROUP BY destination
