-- Days whose source rows changed after the fact (erasures), for the freshness sensor.
INSERT INTO dataset_day_changes (day, reason, changed_rows)
SELECT c.day, %(reason)s, c.changed_rows
FROM unnest(%(days)s::date[], %(changed_rows)s::bigint[]) AS c(day, changed_rows)
