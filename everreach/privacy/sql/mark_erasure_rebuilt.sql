-- The erasure's days were re-materialized (no file holds the person any more).
UPDATE erasure_receipts SET rebuilt_at = now() WHERE receipt_id = %(receipt_id)s
