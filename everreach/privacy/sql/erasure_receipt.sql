-- One receipt by id.
SELECT receipt_id, requested_by, requested_at, deleted_rows, days, posthog_deletion_queued,
       rebuilt_at
FROM erasure_receipts
WHERE receipt_id = %(receipt_id)s
