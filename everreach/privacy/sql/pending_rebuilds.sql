-- Erasures whose dataset days and model tables have not been rebuilt yet, oldest first.
SELECT receipt_id, requested_at, days
FROM erasure_receipts
WHERE rebuilt_at IS NULL
ORDER BY requested_at
