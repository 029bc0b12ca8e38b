-- Delivered is a fact whoever holds the lease now: record it regardless of lease_id.
UPDATE outbox
SET status = 'delivered', delivered_at = now(), lease_id = NULL
WHERE id = ANY(%(id)s::bigint[]) AND status <> 'delivered'
