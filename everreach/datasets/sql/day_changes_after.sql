-- Day changes logged after a given change id (erasures), oldest first.
SELECT id, day
FROM dataset_day_changes
WHERE id > %(after_id)s
ORDER BY id
