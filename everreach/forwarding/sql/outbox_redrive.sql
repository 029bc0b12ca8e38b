-- Dead rows back in the queue, due now, with a fresh retry window (last_error kept as history).
UPDATE outbox
SET status = 'pending', attempts = 0, next_attempt_at = now(), queued_at = now(), lease_id = NULL
WHERE status = 'dead'
  AND (%(destination)s::text IS NULL OR destination = %(destination)s::text)
