-- The last receipt of an erasure of this subject (by keyed hash), if there was one.
SELECT receipt_id, requested_by, requested_at, deleted_rows, days, posthog_deletion_queued,
       rebuilt_at
FROM erasure_receipts
WHERE subject_hash = %(subject_hash)s
ORDER BY requested_at DESC
LIMIT 1
