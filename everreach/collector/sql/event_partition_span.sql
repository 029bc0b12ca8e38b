-- The day partitions app_events has: first and last day, and how many.
SELECT min(day), max(day), count(*) FROM event_partitions()
