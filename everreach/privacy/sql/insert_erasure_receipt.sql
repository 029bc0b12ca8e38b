-- What an erasure removed and who asked; the subject only as a keyed hash.
INSERT INTO erasure_receipts
    (receipt_id, subject_hash, requested_by, requested_at, deleted_rows, days,
     posthog_deletion_queued)
VALUES (%(receipt_id)s, %(subject_hash)s, %(requested_by)s, %(requested_at)s, %(deleted_rows)s,
        %(days)s::date[], %(posthog_deletion_queued)s)
