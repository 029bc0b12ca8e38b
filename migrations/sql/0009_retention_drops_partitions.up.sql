-- Event retention drops day partitions instead of deleting rows (app_events is partitioned by
-- UTC day since 0008). retention_runs now also records the partitions dropped; the new
-- cleanup_old_events, and why it works as it does, is 0009_cleanup_old_events.sql (run next by
-- this revision; 0013's downgrade restores it from there).

ALTER TABLE retention_runs ADD COLUMN dropped_partitions integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN retention_runs.dropped_partitions IS
    'Partitions dropped whole (their rows are counted in deleted_rows).';

DROP FUNCTION cleanup_old_events(integer);
