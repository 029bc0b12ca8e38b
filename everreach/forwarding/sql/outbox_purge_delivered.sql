-- Delete one bounded slice of delivered rows older than the retention; called until none left.
DELETE FROM outbox
WHERE id IN (
    SELECT id
    FROM outbox
    WHERE status = 'delivered'
      AND delivered_at < now() - make_interval(secs => %(older_than_s)s::float8)
    LIMIT %(limit)s
)
