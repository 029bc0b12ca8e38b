DROP INDEX IF EXISTS app_events_received_at_brin;
DROP TABLE IF EXISTS dataset_day_changes;
DROP TABLE IF EXISTS suppressed_identifiers;
DROP TABLE IF EXISTS erasure_receipts;
