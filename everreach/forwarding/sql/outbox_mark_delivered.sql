-- Delivered is a fact whoever holds the lease now: record it regardless of lease_id.
-- A person deletion's payload is the erased person's ids: it is emptied once PostHog has it.
UPDATE outbox
SET status = 'delivered', delivered_at = now(), lease_id = NULL,
    payload = CASE WHEN destination = 'posthog_persons' THEN '{}'::jsonb ELSE payload END
WHERE id = ANY(%(id)s::bigint[]) AND status <> 'delivered'
